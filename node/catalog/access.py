"""Who may download a dataset's files: the one place where that is decided.

Open data (an open licence and public access rights) is readable without a token, as the
architecture promises; a usage policy on open data only states its terms machine-readably. Anything else is refused here until the policies room
plugs its agreement-token check into `authorize_download` (DSP 2025-1 agreements, audit).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.http.problems import Problem
from vocab import catalog as terms

PUBLIC = terms.access_right_iri("PUBLIC")


def is_open(dataset: dict[str, Any]) -> bool:
    """Open data: an open licence and public access rights."""
    return terms.is_open_licence(str(dataset.get("license", ""))) and (
        dataset.get("access_rights") == PUBLIC
    )


async def authorize_download(
    request: web.Request, dataset: dict[str, Any], distribution: dict[str, Any]
) -> None:
    """Return if the request may download this distribution's file; raise a problem if not."""
    if is_open(dataset):
        return
    raise Problem(
        403,
        "Forbidden",
        "this dataset is not open data; its files are available under an agreement "
        "(negotiate the offer in the catalog)",
        dataset=dataset["id"],
        distribution=distribution["id"],
    )
