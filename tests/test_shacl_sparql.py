"""The patient shapes compiled to SPARQL find exactly the violations pySHACL finds, on every failing case of
the contract and on generated patients; and a shape the compiler does not know is refused, not skipped."""

from __future__ import annotations

import pytest
from rdflib import Graph

from kg_service.shacl_sparql import UnsupportedShape, compile_shapes
from kg_service.store import OxigraphStore

from .conftest import TODAY
from .test_patient_validation import CASES, VALID


def both_engines(reasoner, document):
    prepared, parse_violations = reasoner.parse(document, today=TODAY)
    with reasoner.store.patient_graph(prepared.graph) as scope:
        compiled = [v for items in reasoner.compiled_shapes.validate(scope).values() for v in items]
    from kg_service.patient_validation import validate_patient

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
        compile_shapes(shapes)


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
    flagged = {str(row["this"].value) for _, query in compile_shapes(shapes) for row in store.query(query)}
    assert flagged == {"https://example.org/bad"}
