"""Installs the design's folders (node/, connectors/, policies/, vocab/) as `allmende.*`.

The repository keeps one folder per concern at its top level; installed, they live under one
`allmende` namespace so they cannot clash with other distributions' top-level packages.
Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

DESIGN = ("node", "connectors", "policies", "vocab")

setup(
    package_dir={"allmende": "."},
    packages=[f"allmende.{p}" for p in find_packages(include=[f"{d}*" for d in DESIGN])],
)
