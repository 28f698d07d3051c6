"""The patient shapes compiled to SPARQL find exactly the violations pySHACL finds, on every failing case of
the contract and on generated patients; and a shape the compiler does not know is refused, not skipped."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef

from kg_service.patient.shacl_compiler import UnsupportedShape, compile_shapes
from kg_service.store.oxigraph import OxigraphStore

from .conftest import TODAY
from .test_patient_validation import CASES, VALID


def both_engines(reasoner, document):
    prepared, parse_violations = reasoner.parse(document, today=TODAY)
    with reasoner.store.patient_graph(prepared.graph) as scope:
        compiled = [v for items in reasoner.compiled_shapes.validate(scope).values() for v in items]
    from kg_service.patient.validation import validate_patient

    reference = validate_patient(prepared.graph, reasoner.vocabulary)
    key = lambda v: (v.field, v.message)  # noqa: E731
    return sorted(set(compiled), key=key), sorted(set(reference), key=key)


@pytest.mark.parametrize(
    "case,document,field,words", CASES + [("valid", VALID, None, None)], ids=[c[0] for c in CASES] + ["valid"]
)
def test_same_violations_as_pyshacl(reasoner, case, document, field, words):
    compiled, reference = both_engines(reasoner, document)
    assert compiled == reference


def test_unknown_shape_features_are_refused():
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
            sh:property [ sh:path ex:p ; sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 ] .
    """,
        format="turtle",
    )
    with pytest.raises(UnsupportedShape):
        compile_shapes(shapes, strict=True)
    compiled = compile_shapes(shapes)  # otherwise left out whole, and named, for pySHACL to check
    assert list(compiled.refused) == [URIRef("https://example.org/S")] and compiled.queries == []


def test_batch_validation_keeps_patients_apart(reasoner):
    good, _ = reasoner.parse(VALID, today=TODAY)
    bad, _ = reasoner.parse(dict(VALID, id="bad", er="negative"), today=TODAY)
    both = Graph()
    for triple in (*good.graph, *bad.graph):
        both.add(triple)
    with reasoner.store.patient_graph(both) as scope:
        found = reasoner.compiled_shapes.validate(scope)
    assert len(found) == 1
    (violations,) = found.values()
    assert [v.field for v in violations] == ["er"]
    assert isinstance(reasoner.store, OxigraphStore)


def test_a_pattern_with_a_line_break_or_a_quote_compiles_to_valid_sparql():
    import pyoxigraph as ox

    shapes = Graph().parse(
        data=r"""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
            sh:property [ sh:path ex:p ; sh:pattern "^a\n\"b\"$" ; sh:message "m" ] .
    """,
        format="turtle",
    )
    store = ox.Store()
    store.load(
        b"""<https://example.org/good> a <https://example.org/C> ; <https://example.org/p> "a\\n\\"b\\"" .
        <https://example.org/bad> a <https://example.org/C> ; <https://example.org/p> "a b" .""",
        format=ox.RdfFormat.TURTLE,
    )
    flagged = {str(row["this"].value) for query in compile_shapes(shapes).queries for row in store.query(query)}
    assert flagged == {"https://example.org/bad"}


MULTI_VALUED = """
@prefix mbc: <https://w3id.org/mbc-kg/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:p> a mbc:Patient ; mbc:patientId "p1", "p 2" ; mbc:sex mbc:Female, mbc:Foo, "female" ;
  mbc:stage mbc:StageMetastatic, mbc:StageEarly ; mbc:erStatus mbc:ReceptorPositive ;
  mbc:metastaticDiagnosisDate "2025-01-01"^^xsd:date, "1800-01-01"^^xsd:date ;
  mbc:referenceDate "2026-01-01"^^xsd:date ;
  mbc:hasHER2Result [ a mbc:HER2Result ; mbc:ihcScore mbc:IHC1Plus, mbc:IHC0 ; mbc:membraneStaining true ] ;
  mbc:hasBiomarkerResult [ a mbc:BiomarkerResult ; mbc:onGene [ ] ; mbc:testResult mbc:Detected ] ;
  mbc:hasTherapyLine [ a mbc:TherapyLine ; mbc:setting mbc:MetastaticSetting ; mbc:lineNumber 1 ;
                       mbc:includesDrug "letrozole", mbc:X ] .
"""


def test_same_results_as_pyshacl_on_an_rdf_patient_with_several_values_per_property():
    """JSON documents give one value per property; RDF may give several (and wrong kinds of value)."""
    import pyoxigraph as ox

    from kg_service.graph.shapes import SH, load_shapes, validation_results
    from kg_service.store.oxigraph import from_ox, to_ox

    shapes = load_shapes("patient-shapes.ttl")
    data = Graph().parse(data=MULTI_VALUED, format="turtle")
    store = ox.Store()
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in data)

    def shown(value) -> str | None:  # a plain literal and an xsd:string one are the same term in RDF 1.1
        return None if value is None else str(value) if value.__class__.__name__ == "Literal" else value.n3()

    compiled = set()
    found = compile_shapes(shapes)
    for query in found.queries:
        for row in store.query(query):
            check = found.checks[row["check"].value]
            compiled.add((check.shape, from_ox(row["this"]), shown(from_ox(row["value"]))))
    conforms, report = validation_results(data, shapes)
    reference = {
        (report.value(r, SH.sourceShape), report.value(r, SH.focusNode), shown(report.value(r, SH.value)))
        for r in report.subjects(SH.resultSeverity, None)
    }
    assert not conforms
    assert len(reference) > 10
    assert compiled == reference
