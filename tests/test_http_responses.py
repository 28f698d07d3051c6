"""The patient answers' JSON (kg_service/http/responses.py AnswerResponse): orjson's bytes must be json.dumps's,
and orjson writes NaN as null where json.dumps refuses it, so an answer must never hold a float."""

from __future__ import annotations

import json

import pytest

from kg_service.cohort.synthetic import CohortGenerator
from kg_service.http.responses import AnswerResponse

from .conftest import ROOT, TODAY


def _patients(graph) -> list[dict]:
    paths = sorted((ROOT / "tests" / "vignettes").glob("*.json"))
    documents = [json.loads(path.read_text(encoding="utf-8"))["patient"] for path in paths]
    return documents + list(CohortGenerator(graph, TODAY).cohort(60, seed=3))


def _floats(value, where="answer") -> list[str]:
    if isinstance(value, float):
        return [where]
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in _floats(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [f for index, item in enumerate(value) for f in _floats(item, f"{where}[{index}]")]
    return []


@pytest.fixture(scope="module")
def answers(reasoner, graph) -> list[dict]:
    judged = []
    for document in _patients(graph):
        prepared, violations = reasoner.parse(document, today=TODAY)
        if violations or prepared.patient is None:
            continue
        judged.append(reasoner.recommend(document, today=TODAY))
    assert len(judged) > 50
    return judged


def test_an_answer_holds_no_float(answers):
    assert [f for answer in answers for f in _floats(answer)] == []


def test_the_answer_bytes_are_json_dumps_bytes(answers):
    for answer in answers:
        expected = json.dumps(answer, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        assert AnswerResponse(answer).body == expected.encode("utf-8")


def test_the_endpoint_answers_with_the_same_json(client, reasoner):
    document = json.loads((ROOT / "examples" / "patient-esr1-after-cdk46.json").read_text(encoding="utf-8"))
    response = client.post("/v1/recommendations", json=document)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["options"] and response.json()["patient_id"] == document["id"]
