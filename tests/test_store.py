"""The embedded store: requests never write into the store that holds the knowledge graph, scratch stores
are replaced before removed patients pile up in them, and the answers do not depend on which store served."""

from __future__ import annotations

import json

from kg_service.service import Reasoner
from kg_service.store.oxigraph import OxigraphStore

from .conftest import ROOT, TODAY

EXAMPLE = json.loads((ROOT / "examples" / "patient-esr1-after-cdk46.json").read_text(encoding="utf-8"))


def test_requests_leave_the_knowledge_graph_store_untouched(reasoner):
    before = len(reasoner.store.store)
    reasoner.recommend(EXAMPLE, today=TODAY)
    reasoner.validate(EXAMPLE, today=TODAY)
    assert len(reasoner.store.store) == before
    assert not list(reasoner.store.store.named_graphs())


def test_scratch_store_is_emptied_after_each_patient(graph):
    store = OxigraphStore(graph)
    reasoner = Reasoner(graph=graph, sparql_endpoint="")
    prepared, _ = reasoner.parse(EXAMPLE, today=TODAY)
    with store.patient_graph(prepared.graph) as scope:
        scratch = scope.store
        assert len(scratch) == len(store.store) + len(prepared.graph)
    assert len(scratch) == len(store.store)


def test_scratch_stores_are_recycled_and_answers_do_not_change(graph):
    reasoner = Reasoner(graph=graph, sparql_endpoint="")
    reasoner.store.recycle_after = 1  # every patient gets a fresh copy after the first
    first = reasoner.recommend(EXAMPLE, today=TODAY)
    created = reasoner.store.scratch_created
    answers = [reasoner.recommend(EXAMPLE, today=TODAY) for _ in range(3)]
    assert reasoner.store.scratch_created == created + 3
    assert all(answer == first for answer in answers)
    reasoner.store.recycle_after = 10**9  # now the same copy serves every patient
    for _ in range(3):
        assert reasoner.recommend(EXAMPLE, today=TODAY) == first
    assert reasoner.store.scratch_created == created + 3


def test_derived_triples_keep_the_blank_nodes_they_name(graph):
    """A CONSTRUCT's triples go back into the patient graph as N-Triples; one that names a blank node already
    in the store must name that node, not a fresh one (Oxigraph's loader renames blank nodes)."""
    from rdflib import BNode, Namespace

    ex = Namespace("urn:example:")
    node = BNode()
    store = OxigraphStore(graph)
    with store.patient_graph([(ex.patient, ex.has, node), (node, ex.value, ex.one)]) as scope:
        derived = scope.construct("CONSTRUCT { ?n <urn:example:seen> true } WHERE { ?p <urn:example:has> ?n }")
        assert scope.add_derived(derived) == 1
        rows = scope.select("SELECT ?v WHERE { ?n <urn:example:seen> true ; <urn:example:value> ?v }")
    assert [str(row["v"]) for row in rows] == [str(ex.one)]


def test_derived_triples_are_counted_and_added(graph):
    from rdflib import Namespace

    ex = Namespace("urn:example:")
    store = OxigraphStore(graph)
    with store.patient_graph([(ex.a, ex.p, ex.b), (ex.c, ex.p, ex.d)]) as scope:
        derived = scope.construct("CONSTRUCT { ?o <urn:example:back> ?s } WHERE { ?s <urn:example:p> ?o }")
        assert scope.add_derived(derived) == 2
        assert scope.add_derived(scope.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s <urn:example:none> ?o }")) == 0
        rows = scope.select("SELECT ?s WHERE { ?s <urn:example:back> ?o }")
    assert sorted(str(row["s"]) for row in rows) == [str(ex.b), str(ex.d)]
