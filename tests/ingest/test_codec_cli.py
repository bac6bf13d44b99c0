"""`allmende device codec`: an operator uploads a codec for one device from the shell (the
node stopped here; beside a running node the same command calls the admin API)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session

from allmende.node.cli import main
from allmende.node.ingest.codecs import DeviceCodec
from allmende.node.runtime import Node
from tests.ingest.conftest import prepare_village
from tests.support import make_node

CODEC = "function decodeUplink(input) { return {data: {temperature: input.bytes[0] / 2}}; }"


async def test_a_codec_is_stored_for_the_device_as_its_label_spells_it(tmp_path: Path) -> None:
    folder = tmp_path / "village"
    node = make_node(folder, name="Lütjenholm", node_id="https://luetjenholm.example/")
    await prepare_village(node)
    node.close()
    good, broken = tmp_path / "keller.js", tmp_path / "broken.js"
    good.write_text(CODEC, encoding="utf-8")
    broken.write_text("function decodeUplink(input) {", encoding="utf-8")

    runner = CliRunner()
    result = runner.invoke(
        main, ["device", "codec", str(folder), "--device", "70-B3-D5-7E-D0-0A-B0-01", str(good)]
    )
    assert result.exit_code == 0, result.output
    assert "stored for 70b3d57ed00ab001" in result.output

    refused = runner.invoke(
        main, ["device", "codec", str(folder), "--device", "70b3d57ed00ab001", str(broken)]
    )
    assert refused.exit_code != 0
    assert "SyntaxError" in refused.output
    unknown = runner.invoke(main, ["device", "codec", str(folder), "--device", "nope", str(good)])
    assert unknown.exit_code != 0 and "no registered device" in unknown.output

    node = Node.open(folder)
    try:
        with Session(node.engine) as session:
            row = session.get(DeviceCodec, "70b3d57ed00ab001")
        assert row is not None and row.source == CODEC  # the broken one did not replace it
    finally:
        node.close()
