"""The Eclipse Dataspace TCK (DSP 2025-1), from Maven Central, run by the JUnit console.

    libs = prepare()                                  # jars into ~/.cache/allmende/dsp-tck-*/libs
    outcomes = await run(properties, reports_dir)     # one JVM, every scenario
    print(table(outcomes))                            # passed / failed / skipped per group

The TCK's scenarios read their settings (the connector's URLs, the dataset, offer and
agreement ids per scenario) as system properties; its callback endpoint listens at
`dataspacetck.callback.address`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.services.maven import CACHE, copy_dependencies
from tests.services.ports import ServiceUnavailable

VERSION = "1.0.0-RC6"  # keep in step with dsp_tck/pom.xml
POM = Path(__file__).with_name("dsp_tck") / "pom.xml"
LAUNCHER = "org.eclipse.dataspacetck.dsp.system.DspSystemLauncher"
GROUPS = {
    "Metadata": "MET",
    "Catalog": "CAT",
    "ContractNegotiationProvider": "CN",
    "TransferProcessProvider": "TP",
    "ContractNegotiationConsumer": "CN_C",
    "TransferProcessConsumer": "TP_C",
}
"""Test class name prefix -> the TCK's scenario group (its display names say the same)."""


def prepare() -> Path:
    return copy_dependencies(
        POM, CACHE / f"dsp-tck-{VERSION}" / "libs", f"dsp-system-{VERSION}.jar", "the DSP TCK"
    )


@dataclass(frozen=True)
class Outcome:
    group: str
    test: str
    status: str
    """passed, failed or skipped"""
    message: str = ""


async def run(
    properties: dict[str, str],
    reports: Path,
    *,
    timeout: float = 900,
    classes: tuple[str, ...] = (),
) -> list[Outcome]:
    """Run every scenario (or those of `classes`, simple names) against the configured
    connector; raise if the TCK cannot run."""
    selection = [
        f"--select-class=org.eclipse.dataspacetck.dsp.verification.{name}" for name in classes
    ] or ["--select-package", "org.eclipse.dataspacetck.dsp.verification"]
    java = shutil.which("java")
    if java is None:
        raise ServiceUnavailable("java not found: the DSP TCK needs Java 17")
    libs = prepare()
    command = [
        java,
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-cp",
        f"{libs}/*",
        f"-Ddataspacetck.launcher={LAUNCHER}",
        *(f"-D{key}={value}" for key, value in properties.items()),
        "org.junit.platform.console.ConsoleLauncher",
        "execute",
        *selection,
        "--include-classname",
        ".*Test",
        "--reports-dir",
        str(reports),
        "--details",
        "none",
        "--disable-banner",
    ]
    log = reports / "tck.log"
    reports.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(*command, stdout=out, stderr=out)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
    report = reports / "TEST-junit-jupiter.xml"
    if not report.is_file():
        raise RuntimeError(f"the TCK wrote no report; its log: {log.read_text()[-3000:]}")
    return parse(report)


def parse(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        class_name = case.get("classname", "").rsplit(".", 1)[-1]
        group = next((g for prefix, g in GROUPS.items() if class_name.startswith(prefix)), "?")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            status, message = "failed", (problem.get("message") or "")[:300]
        elif case.find("skipped") is not None:
            status, message = "skipped", ""
        else:
            status, message = "passed", ""
        outcomes.append(Outcome(group, case.get("name", ""), status, message))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    counts = Counter((o.group, o.status) for o in outcomes)
    lines = [f"{'group':<6} {'passed':>6} {'failed':>6} {'skipped':>7}"]
    for group in GROUPS.values():
        lines.append(
            f"{group:<6} {counts[group, 'passed']:>6} {counts[group, 'failed']:>6} "
            f"{counts[group, 'skipped']:>7}"
        )
    return "\n".join(lines)
