"""The graph conforms to its own shapes, and each shape catches the data that breaks it."""

from __future__ import annotations

import pytest
from rdflib import RDF, Graph, URIRef

from kg_service.core.namespaces import MBC, SHAPES
from kg_service.graph.shapes import SH, load_shapes, validation_results

from .conftest import ROOT, TESTS

FIXTURES = TESTS / "fixtures" / "graph-violations"
SHAPES_GRAPH = load_shapes("graph-shapes.ttl")
NODE_SHAPES = sorted(
    str(s).split("#")[1] for s in SHAPES_GRAPH.subjects(RDF.type, SH.NodeShape) if str(s).startswith(str(SHAPES))
)


def shapes_reporting(data: Graph) -> set[str]:
    """Names of the node shapes that report a violation (property shapes count for their node shape)."""
    conforms, report = validation_results(data, SHAPES_GRAPH)
    names = set()
    for result in report.subjects(SH.resultSeverity, None):
        source = report.value(result, SH.sourceShape)
        owners = {source} | set(SHAPES_GRAPH.subjects(SH.property, source))
        names |= {str(o).split("#")[1] for o in owners if isinstance(o, URIRef) and str(o).startswith(str(SHAPES))}
    return names


def test_graph_conforms(graph):
    conforms, report = validation_results(graph, SHAPES_GRAPH)
    assert conforms, report.serialize(format="turtle")


def test_every_shape_has_a_violating_fixture():
    assert {p.stem for p in FIXTURES.glob("*.ttl")} == set(NODE_SHAPES)


@pytest.mark.parametrize("shape", NODE_SHAPES)
def test_fixture_violates_its_shape(shape: str):
    data = Graph()
    data.parse(ROOT / "ontology" / "mbc-ontology.ttl")
    data.parse(FIXTURES / f"{shape}.ttl")
    assert shape in shapes_reporting(data)


def without(graph: Graph, predicate: URIRef) -> Graph:
    copy = Graph()
    for triple in graph:
        if triple[1] != predicate:
            copy.add(triple)
    return copy


def test_graph_without_trial_numbers_does_not_conform(graph):
    assert "TrialShape" in shapes_reporting(without(graph, MBC.nctId))


def test_graph_without_step_labels_does_not_conform(graph):
    stripped = Graph()
    steps = set(graph.subjects(RDF.type, MBC.PathwayStep))
    for s, p, o in graph:
        if not (s in steps and p == URIRef("http://www.w3.org/2000/01/rdf-schema#label")):
            stripped.add((s, p, o))
    assert "PathwayStepShape" in shapes_reporting(stripped)
