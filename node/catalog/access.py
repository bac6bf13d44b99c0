"""Who may download a dataset's files: the one place where that is decided.

Open data (an open licence and public access rights) is readable without a token, as the
architecture promises; a usage policy on open data only states its terms machine-readably.
Anything else needs an access token bound to an agreement, checked and audited by the usage
room through the `USAGE_GUARD` hook.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.http.problems import Problem
from vocab import catalog as terms

PUBLIC = terms.access_right_iri("PUBLIC")
USAGE_GUARD = "usage_guard"
"""App key of `async (request, dataset, channel) -> None`: the usage room's agreement check
for restricted data, which raises the problem that refuses. Without it, restricted data
stays closed."""


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
    if USAGE_GUARD in request.app:
        await request.app[USAGE_GUARD](request, dataset, "download")
        return
    raise Problem(
        403,
        "Forbidden",
        "this dataset is not open data; its files are available under an agreement "
        "(negotiate the offer in the catalog)",
        dataset=dataset["id"],
        distribution=distribution["id"],
    )
