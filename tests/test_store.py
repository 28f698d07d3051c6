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
