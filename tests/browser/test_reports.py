"""The report form's pin on the map, in Debian's chromium on a phone-sized screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allmende.node.reports.samples import sample_feature
from tests.browser.test_browser import _browser_missing, run_walk
from tests.browser.village import Village, serve_village


@pytest.fixture(scope="module")
def village(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Village]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    served = serve_village(tmp_path_factory.mktemp("struckum"))
    served.call(
        "POST",
        "/admin/reports/categories",
        {"code": "muell", "name": "Müll", "name_en": "Rubbish", "department": "Bauhof"},
    )
    served.call(
        "PUT",
        "/admin/reports/boundary?sample=true",
        sample_feature("struckum", "Struckum"),
        headers={"Content-Type": "application/geo+json"},
    )
    yield served
    served.stop()


def test_resident_sets_the_pin_on_the_map(village: Village) -> None:
    run_walk("reports.test.mjs", village)
