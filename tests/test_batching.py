"""Micro-batching (issue 17): patients evaluated together get the answers they get one by one; an invalid
patient in a batch affects no other; concurrent API requests share batches; past the queue bound a request
is refused with a 503 that says when to retry."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from kg_service.core.errors import BadRequest, InvalidPatient
from kg_service.http import batching
from kg_service.http.batching import BatchSettings, QueueFull

from .conftest import ROOT, TODAY
from .engine_gate import Gate, held_app_batcher, held_batcher, live_app, wait_for

VIGNETTES = sorted((ROOT / "tests" / "vignettes").glob("*.json"))
INVALID = {"id": "early-1", "stage": "early", "er": "positive", "her2": {"ihc": "1+"}}
TURTLE = (ROOT / "examples" / "patient-esr1-after-cdk46.ttl").read_text()


def _documents() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8"))["patient"] for path in VIGNETTES]


def _alone(reasoner, body, content_type="application/json"):
    try:
        return reasoner.recommend(body, content_type, today=TODAY)
    except (BadRequest, InvalidPatient) as exc:
        return exc


def _same(a, b) -> bool:
    if isinstance(a, InvalidPatient) and isinstance(b, InvalidPatient):
        return a.violations == b.violations
    if isinstance(a, BadRequest) and isinstance(b, BadRequest):
        return str(a) == str(b)
    return a == b


@contextmanager
def counting_scopes(reasoner):
    """Counts the patient graphs opened (one per batch, or per patient judged alone)."""
    opened = []
    original = reasoner.backend.patient_graph

    def patient_graph(triples):
        opened.append(len(triples))
        return original(triples)

    reasoner.backend.patient_graph = patient_graph
    try:
        yield opened
    finally:
        del reasoner.backend.patient_graph


def test_a_batch_gives_every_patient_its_own_answer_and_an_invalid_one_affects_no_other(reasoner):
    documents = _documents()
    bodies = [json.dumps(d) for d in documents[:20]]
    bodies.insert(3, json.dumps(INVALID))
    bodies.insert(9, "{not json")
    bodies.insert(12, json.dumps({**documents[0], "her2": "positive"}))  # a parser violation
    with counting_scopes(reasoner) as opened:
        together = reasoner.recommend_many(bodies, today=TODAY)
    assert len(opened) == 2  # one graph to judge all 22 patients, one to derive the 20 valid ones
    for body, outcome in zip(bodies, together, strict=True):
        assert _same(outcome, _alone(reasoner, body)), body[:80]
    assert isinstance(together[3], InvalidPatient) and isinstance(together[9], BadRequest)
    assert isinstance(together[12], InvalidPatient)


def test_validate_many_equals_validate_one_by_one(reasoner):
    bodies = [json.dumps(d) for d in _documents()[:6]] + [json.dumps(INVALID)]
    together = reasoner.validate_many(bodies, today=TODAY)
    assert together == [reasoner.validate(body, today=TODAY) for body in bodies]
    assert [v["valid"] for v in together] == [True] * 6 + [False]


def test_rdf_patients_are_judged_alone_since_they_may_share_an_iri(reasoner):
    # two copies of one Turtle patient name the same nodes: together they would be one patient with two of
    # everything; judged alone, each is the patient it describes
    bodies = [TURTLE, TURTLE]
    with counting_scopes(reasoner) as opened:
        together = reasoner.recommend_many(bodies, "text/turtle", today=TODAY)
    assert len(opened) == 2
    alone = reasoner.recommend(TURTLE, "text/turtle", today=TODAY)
    assert together == [alone, alone]


def test_the_batch_bound_and_queue_bound_are_settings(monkeypatch):
    monkeypatch.setenv("MBC_KG_BATCH_MAX", "5")
    monkeypatch.setenv("MBC_KG_QUEUE_MAX", "7")
    monkeypatch.setenv("MBC_KG_BATCH_WORKERS", "2")
    assert BatchSettings.from_environment() == BatchSettings(max_batch=5, max_queue=7, workers=2)
    monkeypatch.setenv("MBC_KG_BATCH_MAX", "0")
    with pytest.raises(ValueError, match="MBC_KG_BATCH_MAX must be at least 1"):
        BatchSettings.from_environment()
    monkeypatch.setenv("MBC_KG_BATCH_MAX", "many")
    with pytest.raises(ValueError, match="MBC_KG_BATCH_MAX must be a whole number"):
        BatchSettings.from_environment()


@pytest.fixture
def server(reasoner, monkeypatch):
    with live_app(reasoner, monkeypatch) as live:
        yield live


def test_concurrent_requests_share_batches_and_get_their_own_answers(server, reasoner, monkeypatch):
    documents = _documents()[:12] + [INVALID]
    gate = Gate(reasoner)
    monkeypatch.setattr(reasoner, "judge_many", gate)
    batcher = batching.get_batcher()

    def post(document):
        return httpx.post(f"{server.url}/v1/recommendations", json=document, timeout=300)

    with ThreadPoolExecutor(max_workers=len(documents) + 1) as pool:
        first = pool.submit(post, documents[0])
        wait_for(lambda: batcher.batches == 1, "the first batch")  # held by the gate
        others = [pool.submit(post, d) for d in documents[1:]]
        wait_for(lambda: batcher._waiting == len(documents) - 1, "the other requests to queue")
        gate.release.set()
        responses = [first.result()] + [f.result() for f in others]
    assert batcher.sizes[:2] == [1, len(documents) - 1]  # the idle engine took the first at once
    for document, response in zip(documents[:-1], responses, strict=False):
        assert response.status_code == 200
        assert response.json() == reasoner.recommend(document)
    refused = responses[-1]
    assert refused.status_code == 422
    alone = _alone(reasoner, json.dumps(INVALID))
    assert refused.json()["violations"] == [v.as_dict() for v in alone.violations]


def test_past_the_queue_bound_a_request_gets_503_with_retry_after(server, reasoner, monkeypatch):
    gate, batcher = held_app_batcher(reasoner, monkeypatch, queue_max=2)
    document = _documents()[0]

    def post():
        return httpx.post(f"{server.url}/v1/recommendations", json=document, timeout=300)

    with ThreadPoolExecutor(max_workers=4) as pool:
        held = pool.submit(post)
        wait_for(lambda: batcher.batches == 1, "the first batch")
        waiting = [pool.submit(post), pool.submit(post)]
        wait_for(lambda: batcher._waiting == 2, "two requests to queue")
        refused = httpx.post(f"{server.url}/v1/validate", json=document, timeout=60)
        gate.release.set()
        answered = [held.result()] + [f.result() for f in waiting]
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["error"] == "overloaded" and "waiting" in body["message"]
    assert [r.status_code for r in answered] == [200, 200, 200]


def test_a_batcher_refuses_past_its_queue_bound(reasoner):
    gate, batcher = held_batcher(reasoner, BatchSettings(max_batch=4, max_queue=1, workers=1))
    parsed = reasoner.parse(json.dumps(_documents()[0]), today=TODAY)
    try:
        first = batcher.submit(*parsed, derive=False)
        wait_for(lambda: batcher.batches == 1, "the first batch")
        second = batcher.submit(*parsed, derive=False)
        with pytest.raises(QueueFull):
            batcher.submit(*parsed, derive=False)
        gate.release.set()
        assert first.result(60) == second.result(60) == ([], None)
    finally:
        gate.release.set()
        batcher.close()


def test_a_request_cancelled_while_waiting_is_skipped_and_the_engine_goes_on(reasoner):
    gate, batcher = held_batcher(reasoner, BatchSettings(max_batch=4, max_queue=8, workers=1))
    parsed = reasoner.parse(json.dumps(_documents()[0]), today=TODAY)
    try:
        first = batcher.submit(*parsed, derive=False)
        wait_for(lambda: batcher.batches == 1, "the first batch")
        gone = batcher.submit(*parsed, derive=False)
        assert gone.cancel()  # what asyncio does to the future of a client that disconnected
        kept = batcher.submit(*parsed, derive=False)
        gate.release.set()
        assert first.result(60) == kept.result(60) == ([], None)
        later = batcher.submit(*parsed, derive=False)  # the engine thread is still there
        assert later.result(60) == ([], None)
        assert batcher.sizes == [1, 1, 1]
    finally:
        gate.release.set()
        batcher.close()
