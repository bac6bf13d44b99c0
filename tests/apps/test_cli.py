"""`allmende app list|show|approve|reject|suspend` on a node's folder."""

from __future__ import annotations

import json

from click.testing import CliRunner

from allmende.node.cli import main
from tests.apps.conftest import CLIMATE, Village


async def test_operator_reviews_apps_from_the_command_line(village: Village) -> None:
    first = (await village.register())["client_id"]
    second = (await village.register())["client_id"]
    folder = str(village.node.settings.directory)
    await village.client.close()  # the folder's store opens to one process at a time
    runner = CliRunner()

    listed = runner.invoke(main, ["app", "list", folder])
    assert listed.exit_code == 0, listed.output
    assert f"{first}  sandbox  Dorf-App 1.0.0  by Dorfapp GmbH" in listed.output

    stale = runner.invoke(main, ["app", "approve", folder, first, "--version", "0.9"])
    assert stale.exit_code == 2 and "now at version 1.0.0" in stale.output

    approved = runner.invoke(main, ["app", "approve", folder, first, "--version", "1.0.0"])
    assert approved.exit_code == 0, approved.output
    assert f"{CLIMATE}: urn:uuid:" in approved.output

    rejected = runner.invoke(main, ["app", "reject", folder, second, "--reason", "Kein Impressum"])
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    shown = json.loads(runner.invoke(main, ["app", "show", folder, second]).output)
    assert shown["status"] == "rejected" and shown["reason"] == "Kein Impressum"

    suspended = runner.invoke(main, ["app", "suspend", folder, first, "--reason", "Prüfung"])
    assert suspended.exit_code == 0
    only = json.loads(
        runner.invoke(main, ["app", "list", folder, "--json", "--status", "suspended"]).output
    )
    assert [row["client_id"] for row in only] == [first]
    missing = runner.invoke(main, ["app", "show", folder, "nope"])
    assert missing.exit_code == 2 and "no app 'nope'" in missing.output
