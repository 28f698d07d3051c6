"""A new branch added to the graph in Turtle alone (tests/fixtures/extension/new-branch.ttl) is answered,
checked and explained with no code change: criteria, NOT logic, position, evidence and missing data."""

from __future__ import annotations

import pytest

from kg_service.graph.checks import check_graph
from kg_service.graph.loader import load_graph
from kg_service.service import Reasoner

from .conftest import TESTS, TODAY

FIXTURE = TESTS / "fixtures" / "extension" / "new-branch.ttl"
KEY = ("Testinib", "Testinib monotherapy")


@pytest.fixture(scope="module")
def extended():
    return Reasoner(graph=load_graph(extra_files=[FIXTURE]), sparql_endpoint="")


def patient(biomarkers, therapies=None):
    return {
        "id": "ext",
        "stage": "metastatic",
        "metastatic_diagnosis_date": "2025-01-01",
        "er": "positive",
        "her2": {"ihc": "0"},
        "biomarkers": biomarkers,
        "therapies": therapies
        if therapies is not None
        else [
            {
                "setting": "metastatic",
                "line": 1,
                "drugs": ["letrozole", "abemaciclib"],
                "start_date": "2025-01-10",
                "end_date": "2026-01-10",
                "outcome": "progression",
            }
        ],
    }


def option(answer):
    return next(o for o in answer["options"] if (o["step"]["label"], o["regimen"]["label"]) == KEY)


def test_extended_graph_still_passes_its_checks():
    report = check_graph(load_graph(extra_files=[FIXTURE]), reasoner=False)
    assert report.ok, report.lines()


def test_new_step_recommended_when_its_biomarker_is_detected(extended):
    answer = extended.recommend(patient([{"gene": "TESTG1", "result": "detected", "date": "2026-01-15"}]), today=TODAY)
    chosen = option(answer)
    assert chosen["status"] == "recommended"
    assert chosen["evidence"][0]["nct"] == "NCT99999999"
    assert any("TESTG1 detected" in r for r in chosen["reasons"])


def test_new_step_undetermined_without_the_test(extended):
    chosen = option(extended.recommend(patient([]), today=TODAY))
    assert chosen["status"] == "undetermined"
    assert chosen["missing"] == ["TESTG1 testing"]


def test_new_step_closed_by_its_not_criterion(extended):
    therapies = patient([])["therapies"] + [
        {
            "setting": "metastatic",
            "line": 2,
            "drugs": ["capecitabine"],
            "start_date": "2026-01-20",
            "end_date": "2026-06-01",
            "outcome": "progression",
        }
    ]
    answer = extended.recommend(patient([{"gene": "TESTG1", "result": "detected"}], therapies), today=TODAY)
    chosen = option(answer)
    assert chosen["status"] == "not_eligible"
    assert any("no prior chemotherapy in the metastatic setting" in r for r in chosen["reasons"])


def test_the_base_graph_does_not_have_it(reasoner):
    answer = reasoner.recommend(patient([]), today=TODAY)
    assert all((o["step"]["label"], o["regimen"]["label"]) != KEY for o in answer["options"])
