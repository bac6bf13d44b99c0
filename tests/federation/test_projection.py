"""Reading observation subjects out of a peer's N-Triples, as the pooled provenance needs."""

from __future__ import annotations

import pyoxigraph as ox

from allmende.node.federation.projection import observation_subjects

SOSA = "http://www.w3.org/ns/sosa/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def ntriples(quads: list[ox.Triple]) -> str:
    return (ox.serialize(quads, format=ox.RdfFormat.N_TRIPLES) or b"").decode()


def test_each_observation_subject_once_and_nothing_else() -> None:
    observations = [
        ox.NamedNode(f"https://lj.example/datasets/d/observations/{i}") for i in range(5)
    ]
    triples = []
    for i, subject in enumerate(observations):
        triples.append(ox.Triple(subject, RDF_TYPE, ox.NamedNode(SOSA + "Observation")))
        triples.append(
            ox.Triple(subject, ox.NamedNode(SOSA + "hasSimpleResult"), ox.Literal(str(i)))
        )
        # an uplink is typed too, but not as an observation
        uplink = ox.NamedNode(f"https://lj.example/datasets/d/uplinks/{i}")
        triples.append(ox.Triple(uplink, RDF_TYPE, ox.NamedNode(SOSA + "Sample")))
    text = ntriples(triples)

    expected = [str(subject) for subject in observations]
    assert observation_subjects(text) == expected
    # the same without the final line break, and with an observation as the very last line
    last = ntriples([triples[0]]).rstrip("\n")
    assert observation_subjects(text + last) == [*expected, str(observations[0])]
    assert observation_subjects("") == []
