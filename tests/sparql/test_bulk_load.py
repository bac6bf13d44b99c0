"""`allmende load` through the store's own bulk loader, on every data plane: one event for
the load, the file kept under its digest, `reindex` gives the same graph again, and a
file that does not parse leaves neither an event nor a copy behind."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from allmende.node.catalog.files import files_directory
from allmende.node.cli import main
from allmende.node.models import EventRecord
from allmende.node.sparql.bulk import load_file
from allmende.node.sparql.replica import Replica, ReplicaSpec
from allmende.node.store.base import CHECKPOINT, SYSTEM_PREFIX
from allmende.node.store.remote import RemoteStore
from tests import support
from tests.support import make_node

pytestmark = pytest.mark.stores("embedded", "oxigraph", "fuseki")

EX = "http://example.org/"
GRAPH = EX + "loaded"
TRIPLES = 3000
COUNT = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
SAMPLE = (
    f"SELECT ?v ?tag {{ GRAPH <{GRAPH}> {{ <{EX}s17> <{EX}v> ?v ; <{EX}tagged> ?b . "
    f"?b <{EX}tag> ?tag }} }}"
)


def _environ(directory: Path) -> dict[str, str]:
    """The remote store's URL for this folder, as `make_node` opens it."""
    return (
        {"ALLMENDE_STORE_URL": support.REMOTE_STORE[-1](directory)} if support.REMOTE_STORE else {}
    )


def _turtle(path: Path, *, broken: bool = False) -> None:
    lines = ["@prefix ex: <http://example.org/> .\n"]
    for i in range(TRIPLES // 3):
        lines.append(f'ex:s{i} ex:v {i} ; ex:tagged [ ex:tag "t{i}" ] .\n')
    if broken:
        lines.insert(len(lines) // 2, "ex:broken ex:v .\n")
    path.write_text("".join(lines))


def _state(directory: Path) -> tuple[int, list[tuple[str, str]], list[str]]:
    node = make_node(directory)
    try:
        count = int(next(iter(node.store.query(COUNT)))["n"].value)
        sample = sorted((row["v"].value, row["tag"].value) for row in node.store.query(SAMPLE))
        with Session(node.engine) as session:
            types = list(session.exec(select(EventRecord.type)))
    finally:
        node.close()
    return count, sample, types


def test_load_is_one_event_and_reindex_loads_it_again(tmp_path: Path, store_backend: str) -> None:
    directory = tmp_path / "node"
    make_node(directory).close()
    data = tmp_path / "data.ttl"
    _turtle(data)
    runner = CliRunner()
    env = _environ(directory)
    result = runner.invoke(main, ["load", str(directory), str(data), "--graph", GRAPH], env=env)
    assert result.exit_code == 0, result.output
    assert f"loaded {TRIPLES} triples into 1 graph(s) as 1 event" in result.output
    loaded = _state(directory)
    assert loaded == (TRIPLES, [("17", "t17")], ["de.allmende.graph.loaded"])
    assert [p.name for p in files_directory(directory).iterdir() if p.is_file()] != []

    result = runner.invoke(main, ["reindex", str(directory)], env=env)
    assert result.exit_code == 0, result.output
    assert _state(directory) == loaded  # blank nodes once, not twice


def test_a_file_that_does_not_parse_leaves_nothing(tmp_path: Path, store_backend: str) -> None:
    directory = tmp_path / "node"
    make_node(directory).close()
    data = tmp_path / "data.ttl"
    _turtle(data, broken=True)
    result = CliRunner().invoke(
        main, ["load", str(directory), str(data), "--graph", GRAPH], env=_environ(directory)
    )
    assert result.exit_code != 0
    assert "data.ttl" in result.output and "line 501 column 16" in result.output, result.output
    node = make_node(directory)
    try:
        with Session(node.engine) as session:
            assert list(session.exec(select(EventRecord.type))) == []
        assert node.store.graphs() == []
    finally:
        node.close()
    files = files_directory(directory)
    assert not files.exists() or not [p for p in files.iterdir() if p.is_file()]


def test_a_load_stored_twice_on_a_remote_store_adds_nothing(
    tmp_path: Path, store_backend: str
) -> None:
    """Two processes that read the same checkpoint both project the load (a new leader, a
    lost answer): the file goes to a staging graph each time, yet only the page stored
    first copies it, blank nodes included, and no staging graph stays behind."""
    if store_backend == "embedded":
        return  # the embedded store has one writer; this is about a shared remote store
    url = support.REMOTE_STORE[-1](tmp_path / "shared")
    data = tmp_path / "data.nt"
    _turtle(tmp_path / "data.ttl")
    triples = list(ox.parse(path=tmp_path / "data.ttl", format=ox.RdfFormat.TURTLE))
    data.write_bytes(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")
    first, second = RemoteStore(url), RemoteStore(url)
    try:
        assert first.get_meta(CHECKPOINT) is None and second.get_meta(CHECKPOINT) is None
        for store in (first, second):
            store.load_file(data, ox.RdfFormat.N_TRIPLES, GRAPH)
            store.set_meta(CHECKPOINT, "1")
        assert int(next(iter(first.query(COUNT)))["n"].value) == TRIPLES
        answer = httpx.post(
            f"{first.url}/query",
            data={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"},
            headers={"Accept": "application/sparql-results+json"},
            auth=first.auth,
        )
        rows = answer.json()["results"]["bindings"]
        graphs = {row["g"]["value"] for row in rows} - {f"{SYSTEM_PREFIX}system"}
        assert graphs == {GRAPH}
    finally:
        first.close()
        second.close()


def test_a_query_workers_copy_follows_a_load(tmp_path: Path, store_backend: str) -> None:
    """The in-memory copy of a SPARQL worker replays the load from the node's files."""
    if store_backend != "embedded":
        return  # workers keep copies of the embedded store only
    node = make_node(tmp_path / "node")
    try:
        spec = ReplicaSpec(
            node.settings.database_url,
            node.id,
            10_000,
            str(files_directory(node.settings.directory)),
        )
        replica = Replica(str(node.store.path), spec)
        replica.build()
        assert replica.state == "ready" and replica.store is not None
        data = tmp_path / "data.ttl"
        _turtle(data)
        load_file(node, data, GRAPH, ox.RdfFormat.TURTLE)
        seq = int(node.store.get_meta(CHECKPOINT) or 0)
        assert replica.current(seq, budget=10) is not None
        assert int(next(iter(replica.store.query(COUNT)))["n"].value) == TRIPLES
    finally:
        node.close()
