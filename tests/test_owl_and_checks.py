"""HermiT finds the ontology consistent with no unsatisfiable class; the SPARQL checks return no rows; and
both catch what they are there to catch."""

from __future__ import annotations

import shutil

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef

from kg_service.core.namespaces import MBC
from kg_service.graph import queries as query_catalog
from kg_service.graph.checks import run_sparql_checks
from kg_service.graph.owl import classify

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs a Java runtime")


def copy_of(graph: Graph) -> Graph:
    new = Graph()
    for triple in graph:
        new.add(triple)
    return new


@needs_java
def test_hermit_finds_the_graph_consistent(graph):
    report = classify(graph)
    assert report.ok, (report.error, report.unsatisfiable)


@needs_java
def test_hermit_catches_a_drug_in_two_disjoint_classes(graph):
    broken = copy_of(graph)
    broken.add((URIRef("https://w3id.org/mbc-kg/id/drug/letrozole"), RDF.type, MBC.CDK46Inhibitor))
    assert not classify(broken).consistent


@needs_java
def test_hermit_catches_an_unsatisfiable_class(graph):
    broken = copy_of(graph)
    odd = URIRef("https://example.org/EndocrineChemotherapy")
    broken.add((odd, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")))
    broken.add((odd, RDFS.subClassOf, MBC.EndocrineTherapyDrug))
    broken.add((odd, RDFS.subClassOf, MBC.CytotoxicChemotherapy))
    report = classify(broken)
    assert str(odd) in report.unsatisfiable


def test_sparql_checks_pass_on_the_graph(graph):
    assert run_sparql_checks(graph) == []


def test_every_check_query_documents_itself():
    for name in query_catalog.names("checks"):
        assert query_catalog.header(name).startswith("What it answers"), name


@pytest.mark.parametrize(
    "check,damage",
    [
        (
            "step-label-unique",
            lambda g: g.add((URIRef("https://example.org/copy"), RDF.type, MBC.PathwayStep)).add(
                (URIRef("https://example.org/copy"), RDFS.label, Literal("Chemo"))
            ),
        ),
        ("trial-number-unique", lambda g: g.add((URIRef("https://example.org/t"), MBC.nctId, Literal("NCT03778931")))),
        (
            "drug-name-unambiguous",
            lambda g: g.add((URIRef("https://w3id.org/mbc-kg/id/drug/tamoxifen"), MBC.brandName, Literal("Femara"))),
        ),
        (
            "edge-record-matches-link",
            lambda g: g.add(
                (
                    URIRef("https://w3id.org/mbc-kg/id/step/chemotherapy"),
                    MBC.hasChild,
                    URIRef("https://w3id.org/mbc-kg/id/step/oral-serd"),
                )
            ),
        ),
        (
            "treatment-step-carries-gate-criteria",
            lambda g: g.remove((URIRef("https://w3id.org/mbc-kg/id/step/oral-serd"), MBC.hasCriterion, None)),
        ),
        (
            "regimen-placed",
            lambda g: g.remove((None, MBC.hasRegimen, URIRef("https://w3id.org/mbc-kg/id/regimen/eribulin"))),
        ),
    ],
)
def test_each_check_catches_its_problem(graph, check, damage):
    broken = copy_of(graph)
    damage(broken)
    assert any(p.startswith(check + ":") for p in run_sparql_checks(broken))
