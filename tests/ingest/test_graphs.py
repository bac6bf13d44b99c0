"""The RDF an ingest event carries: the quads' triples, whatever graph they were made for."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from allmende.node.ingest.graphs import to_ntriples

S = ox.NamedNode("https://luetjenholm.example/sensors/sample-01")
P = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
G = ox.NamedNode("https://luetjenholm.example/graphs/datasets/sample")


@pytest.mark.parametrize(
    "graphs",
    [[None, None], [G, G], [None, G]],
    ids=["default graph", "named graph", "both"],
)
def test_the_event_text_holds_the_triples_of_quads_in_any_graph(graphs: list) -> None:
    quads = [
        ox.Quad(S, P, ox.Literal(f"Messpunkt {i} (Beispieldaten)"), g) for i, g in enumerate(graphs)
    ]

    text = to_ntriples(quads)

    parsed = set(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))
    assert parsed == {ox.Quad(q.subject, q.predicate, q.object) for q in quads}
