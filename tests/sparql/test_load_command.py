"""`allmende load`: a bulk import that reindex keeps, and that writes nothing when the
file is bad."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session

from allmende.node.cli import main
from allmende.node.events import EventLog
from allmende.node.runtime import Node
from tests.support import make_node


def test_load_records_every_triple_and_survives_reindex(tmp_path: Path) -> None:
    make_node(tmp_path / "node").close()
    data = tmp_path / "data.nq"
    data.write_text(
        "".join(
            f'<http://example.org/s{i}> <http://example.org/v> "{i}" <http://example.org/g{i % 3}> .\n'
            for i in range(120_000)
        )
    )
    runner = CliRunner()
    result = runner.invoke(main, ["load", str(tmp_path / "node"), str(data)])
    assert result.exit_code == 0, result.output
    assert "loaded 120000 triples into 3 graph(s)" in result.output
    node = Node.open(tmp_path / "node")
    try:
        query = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s <http://example.org/v> ?o } }"
        counted = [row["n"].value for row in node.store.query(query)]
        assert counted == ["120000"]
        before = node.store.dump_nquads()
    finally:
        node.close()
    assert runner.invoke(main, ["reindex", str(tmp_path / "node")]).exit_code == 0
    node = Node.open(tmp_path / "node")
    try:
        assert node.store.dump_nquads() == before
    finally:
        node.close()


def test_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    make_node(tmp_path / "node").close()
    data = tmp_path / "data.ttl"
    good = "".join(
        f"<http://example.org/s{i}> <http://example.org/v> {i} .\n" for i in range(60_000)
    )
    data.write_text(good + "<http://example.org/broken> <http://example.org/v> .\n")
    result = CliRunner().invoke(
        main, ["load", str(tmp_path / "node"), str(data), "--graph", "http://example.org/g"]
    )
    assert result.exit_code != 0
    assert "data.ttl" in result.output
    node = Node.open(tmp_path / "node")
    try:
        with Session(node.engine) as session:
            assert EventLog.last_seq(session) == 0
    finally:
        node.close()
