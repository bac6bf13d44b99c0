"""Walk the portal as a citizen and the console as an operator, in Debian's chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.village import Village, browser_environment, serve_village
from tests.web.i18n_words import browser_rules

HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "screenshots"


def _browser_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not Path("/usr/bin/chromium").exists():
        return "Debian's chromium is not installed (apt-get install chromium)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "run `npm ci --prefix tests/browser` first"
    return None


@pytest.fixture(scope="module")
def village(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Village]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    served = serve_village(tmp_path_factory.mktemp("struckum"))
    yield served
    served.stop()


def run_walk(script: str, village: Village, extra: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HERE / script)],
        env={**browser_environment(village, ARTIFACTS), **(extra or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_operator_walks_the_console(village: Village) -> None:
    run_walk("console.test.mjs", village)


def test_citizen_walks_the_portal(village: Village) -> None:
    run_walk("portal.test.mjs", village)


def test_every_page_reads_in_its_language(village: Village) -> None:
    """German and English portal and console pages: no untranslated label, no raw code, no
    US-formatted number or date on German pages (the rules of tests/web/i18n_words.py)."""
    run_walk("i18n.test.mjs", village, {"ALLMENDE_I18N": json.dumps(browser_rules())})
