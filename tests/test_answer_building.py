"""How an answer pairs an option's criteria (read once from the graph) with the patient's evaluations
(70-criterion-evaluations): a criterion with no evaluation is unknown, two truth values for one criterion
are refused, and the lookups match the rows' IRIs by identity."""

from __future__ import annotations

import datetime as dt

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from kg_service.core.namespaces import MBC
from kg_service.graph.catalog import read_catalog
from kg_service.reasoning.answer import build_answer, criterion_evaluations
from kg_service.reasoning.pipeline import Derivation
from kg_service.store.oxigraph import from_ox
from tests.conftest import load_json
from tests.test_vignettes import VIGNETTES

TODAY = dt.date(2026, 11, 25)


def _derivation(reasoner, name: str = "03-brand-names-esr1"):
    path = next(p for p in VIGNETTES if name in p.name)
    prepared, _ = reasoner.parse(load_json(path)["patient"], today=TODAY)
    with reasoner.backend.patient_graph(prepared.graph) as scope:
        return prepared, reasoner.pipeline.run_in(scope)


def test_a_criterion_without_evaluation_is_unknown_and_asks_for_its_data(reasoner):
    prepared, derivation = _derivation(reasoner)
    rows = derivation.rows["70-criterion-evaluations"]
    dropped = next(r for r in rows if r["truth"] == MBC["True"])["criterion"]
    kept = Derivation(
        rows={**derivation.rows, "70-criterion-evaluations": [r for r in rows if r["criterion"] != dropped]}
    )
    answer = build_answer(prepared.patient_id, reasoner.catalog, kept, [])
    values = [c for o in answer["options"] for c in o["criteria"] if c["id"] == str(dropped)]
    assert values, "the dropped criterion is behind some option"
    assert {c["value"] for c in values} == {"unknown"}
    assert all(c["data"] == [] for c in values)
    full = build_answer(prepared.patient_id, reasoner.catalog, derivation, [])
    assert {c["value"] for o in full["options"] for c in o["criteria"] if c["id"] == str(dropped)} == {"true"}


def test_two_truth_values_for_one_criterion_are_refused(reasoner):
    _, derivation = _derivation(reasoner)
    rows = derivation.rows["70-criterion-evaluations"]
    row = next(r for r in rows if r["truth"] == MBC["True"])
    contradicting = {**row, "truth": MBC["False"]}
    with pytest.raises(ValueError, match="evaluated both"):
        criterion_evaluations([*rows, contradicting])


def test_reasons_and_missing_data_do_not_depend_on_row_order(reasoner):
    prepared, derivation = _derivation(reasoner, "08-early-relapse-pik3ca-untested")
    rows = derivation.rows["70-criterion-evaluations"]
    shuffled = Derivation(rows={**derivation.rows, "70-criterion-evaluations": list(reversed(rows))})
    first = build_answer(prepared.patient_id, reasoner.catalog, derivation, [])
    assert build_answer(prepared.patient_id, reasoner.catalog, shuffled, []) == first


def test_a_criterion_with_two_labels_is_refused_at_start_up(graph):
    doubled = Graph()
    for triple in graph:
        doubled.add(triple)
    criterion = next(graph.objects(None, MBC.hasCriterion))
    doubled.add((criterion, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("another name")))
    with pytest.raises(ValueError, match="more than one label"):
        read_catalog(doubled)


def test_rows_name_the_catalogs_own_iri_objects(reasoner):
    option = reasoner.catalog.options[0]
    criterion = next(iter(reasoner.catalog.criteria.values()))[0].criterion
    for term in (option.step, option.regimen, criterion):
        assert from_ox(ox.NamedNode(str(term))) is term
    assert from_ox(ox.NamedNode("urn:example:not-interned")) == URIRef("urn:example:not-interned")
