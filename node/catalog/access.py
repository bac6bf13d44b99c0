"""Who may download a dataset's files: the catalog's side of the one access decision.

Open data (an open licence and public access rights) is readable without a token, as the
architecture promises; a usage policy on open data only states its terms machine-readably.
Anything else needs an access token bound to an agreement, checked and audited by the usage
room through the `USAGE_GUARD` hook. The rule itself lives in `node.access`, which every
other way out asks as well.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from allmende.node.access import PUBLIC, USAGE_GUARD, authorize, is_open
from allmende.node.http.problems import Problem
from allmende.node.messages import say

__all__ = ["PUBLIC", "USAGE_GUARD", "authorize_download", "is_open"]


async def authorize_download(
    request: web.Request, dataset: dict[str, Any], distribution: dict[str, Any]
) -> None:
    """Return if the request may download this distribution's file; raise a problem if not."""
    if is_open(dataset) or USAGE_GUARD in request.app:
        await authorize(request, dataset, "download")
        return
    raise Problem(
        403,
        "Forbidden",
        say(
            "this dataset is not open data; its files are available under an agreement "
            "(negotiate the offer in the catalog)"
        ),
        dataset=dataset["id"],
        distribution=distribution["id"],
    )
