"""The whole pipeline on a second engine: rdflib for the SPARQL derivation and pySHACL for the patient
shapes give exactly the answers of Oxigraph with the compiled shapes, on every vignette."""

from __future__ import annotations

import datetime as dt

import pytest

from kg_service.reasoning.pipeline import EligibilityPipeline
from kg_service.service import Reasoner
from kg_service.store.rdflib_store import RdflibStore

from .conftest import load_json
from .test_vignettes import VIGNETTES


@pytest.fixture(scope="module")
def on_rdflib(graph):
    reasoner = Reasoner(graph=graph, sparql_endpoint="", validator="pyshacl")
    reasoner.backend = RdflibStore(graph)
    reasoner.pipeline = EligibilityPipeline(reasoner.backend)
    return reasoner


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_same_answer_on_rdflib_and_pyshacl(reasoner, on_rdflib, path):
    case = load_json(path)
    today = dt.date.fromisoformat(case.get("today", "2026-11-25"))
    assert on_rdflib.recommend(case["patient"], today=today) == reasoner.recommend(case["patient"], today=today)
