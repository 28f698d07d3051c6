"""Request-path hardening (review findings after issue 17): the patient's picture is judged through the
batcher (503 with Retry-After past the queue bound); what requests used to build on first use is built once
under a lock, kept per reasoner, and prepared at start-up; the FHIR mapping runs on the embedded store through
the shared query runner, and the drafted orders' regimen matcher runs the derivation's line matching there;
per-request work derived once; a drawing that cannot place a line refuses in words; the example files read
once."""

from __future__ import annotations

import copy
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kg_service.cds import orders as cds_orders
from kg_service.drawing import pathway as drawing
from kg_service.graph import queries as query_catalog
from kg_service.graph import query_runner
from kg_service.http import cds_hooks, pages, state
from kg_service.http import drawing as drawing_routes
from kg_service.http.responses import MAX_BODY_BYTES
from kg_service.patient.fhir import adapter as fhir_adapter
from kg_service.patient.fhir import mapping as fhir_mapping
from kg_service.store.oxigraph import PatientScope

from .conftest import ROOT, TODAY, serving
from .engine_gate import held_app_batcher, live_app, wait_for

EXAMPLE = ROOT / "examples" / "patient-esr1-after-cdk46.json"
FHIR_BUNDLE = ROOT / "tests" / "fixtures" / "fhir" / "denovo-searchset.bundle.json"


# ---------------------------------------------------------------- 1. the picture goes through the batcher


@pytest.fixture
def server(reasoner, monkeypatch):
    with live_app(reasoner, monkeypatch) as live:
        yield live


def test_the_patient_picture_is_judged_by_the_batcher_and_refused_past_the_queue_bound(server, reasoner, monkeypatch):
    # fails before the fix: POST /v1/pathway.svg called Reasoner.recommend itself, past the queue (a 200)
    gate, batcher = held_app_batcher(reasoner, monkeypatch, queue_max=1)
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    def post(path):
        return httpx.post(f"{server.url}{path}", json=document, timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(post, "/v1/recommendations")
        wait_for(lambda: batcher.batches == 1, "the first batch")
        waiting = pool.submit(post, "/v1/recommendations")
        wait_for(lambda: batcher._waiting == 1, "a request to queue")
        refused = post("/v1/pathway.svg")
        gate.release.set()
        answered = [held.result(), waiting.result()]
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "overloaded" and "waiting" in refused.json()["message"]
    assert [r.status_code for r in answered] == [200, 200]
    before = batcher.batches
    pictured = post("/v1/pathway.svg")  # the engine is free again: the picture's patient is its next batch
    assert batcher.batches == before + 1
    if pictured.status_code != 503 or pictured.json()["error"] != "drawing_unavailable":  # no Graphviz: 503
        assert pictured.status_code == 200 and pictured.headers["content-type"].startswith("image/svg+xml")


def test_the_picture_keeps_its_errors_for_bad_bodies_and_documents_the_503(client):
    garbage = client.post("/v1/pathway.svg", content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and garbage.json()["error"] == "bad_request"
    invalid = client.post("/v1/pathway.svg", json={"id": "x", "stage": "metastatic"})
    assert invalid.status_code == 422 and "er" in {v["field"] for v in invalid.json()["violations"]}
    unsupported = client.post("/v1/pathway.svg", content=b"x", headers={"Content-Type": "application/pdf"})
    assert unsupported.status_code == 415 and unsupported.json()["error"]
    documented = client.get("/openapi.json").json()["paths"]["/v1/pathway.svg"]["post"]["responses"]["503"]
    assert "Retry-After" in documented["headers"] and "MBC_KG_QUEUE_MAX" in documented["description"]


# ---------------------------------------------------------------- 2. built once, under a lock, per reasoner


class Counting:
    """A constructor that counts its calls and lingers, so that unlocked concurrent first calls all build."""

    def __init__(self, build):
        self.build = build
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
        time.sleep(0.2)  # widens the window a missing lock leaves open; nothing is timed
        return self.build(*args, **kwargs)


def _together(call, n: int = 6) -> list:
    barrier = threading.Barrier(n)

    def first_call():
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(first_call) for _ in range(n)]]


GETTERS = {
    "catalog": (lambda: state.get_catalog, state, "CatalogResources"),
    "exporter": (lambda: state.get_exporter, state, "Exporter"),
    "regimens": (lambda: cds_hooks.get_regimens, cds_hooks, "RegimenMatcher"),
    "drawer": (lambda: drawing_routes.get_drawer, drawing_routes, "PathwayDrawer"),
}


@pytest.mark.parametrize("name", sorted(GETTERS))
def test_concurrent_first_calls_build_one_value(name, reasoner, monkeypatch):
    # fails before the fix: each getter was an lru_cache, which builds once per thread that misses
    getter, module, constructor = GETTERS[name][0](), GETTERS[name][1], GETTERS[name][2]
    counting = Counting(getattr(module, constructor))
    monkeypatch.setattr(module, constructor, counting)
    monkeypatch.setattr(state, "get_reasoner", lambda: reasoner)
    getter.cache_clear()
    try:
        built = _together(getter)
        assert counting.calls == 1 and all(b is built[0] for b in built)
    finally:
        getter.cache_clear()


def test_concurrent_first_fhir_requests_build_one_adapter(reasoner, monkeypatch):
    # Reasoner.fhir was a functools.cached_property: Python 3.11's holds one lock for the class, 3.12's none
    # (so this fails before the fix on 3.12+ only); now the reasoner holds the lock itself
    import kg_service.service as service

    fresh = copy.copy(reasoner)  # the session's reasoner, without its adapter
    fresh.__dict__.pop("fhir", None)
    fresh.__dict__.pop("_fhir", None)
    counting = Counting(service.FhirAdapter)
    monkeypatch.setattr(service, "FhirAdapter", counting)
    adapters = _together(lambda: fresh.fhir)
    assert counting.calls == 1 and all(a is adapters[0] for a in adapters)


@pytest.mark.parametrize("name", sorted(GETTERS))
def test_a_value_built_for_one_reasoner_is_not_served_with_another(name, reasoner, monkeypatch):
    # fails before the fix: an lru_cache(maxsize=1) with no argument kept the first reasoner's value
    getter = GETTERS[name][0]()
    other = copy.copy(reasoner)
    getter.cache_clear()
    try:
        monkeypatch.setattr(state, "get_reasoner", lambda: reasoner)
        mine = getter()
        assert getter() is mine
        monkeypatch.setattr(state, "get_reasoner", lambda: other)
        theirs = getter()
        assert theirs is not mine and getter() is theirs
    finally:
        getter.cache_clear()


def test_concurrent_first_calls_open_one_feedback_store(monkeypatch):
    # fails before the fix: an lru_cache, so concurrent first CDS calls could each open an in-memory store,
    # and the feedback given to all but the kept one was lost
    counting = Counting(cds_hooks.FeedbackStore)
    monkeypatch.setattr(cds_hooks, "FeedbackStore", counting)
    cds_hooks.get_feedback_store.cache_clear()
    try:
        stores = _together(cds_hooks.get_feedback_store)
        assert counting.calls == 1 and all(s is stores[0] for s in stores)
    finally:
        cds_hooks.get_feedback_store.cache_clear()


def test_the_app_prepares_them_at_start_up(reasoner, monkeypatch):
    # fails before the fix: they were built by the first request that needed them
    fresh = copy.copy(reasoner)
    fresh.__dict__.pop("fhir", None)
    fresh.__dict__.pop("_fhir", None)
    counters = {}
    for name, (_, module, constructor) in GETTERS.items():
        counters[name] = Counting(getattr(module, constructor))
        monkeypatch.setattr(module, constructor, counters[name])
    getters = [spec[0]() for spec in GETTERS.values()]
    with serving(fresh, caches=getters):
        assert {name: c.calls for name, c in counters.items()} == dict.fromkeys(GETTERS, 1)
        assert fresh._fhir is not None


# ---------------------------------------------------------------- 3. the shared query runner, on the store


def _spy_on_runner(monkeypatch, module, raising: bool = True) -> list[str]:
    """The names of the queries `module` runs through query_runner.run_oxigraph, as they are run."""
    calls: list[str] = []
    original = query_runner.run_oxigraph

    def spy(store, name, params=None):
        calls.append(name)
        return original(store, name, params)

    monkeypatch.setattr(module, "run_oxigraph", spy, raising=raising)
    return calls


def test_the_regimen_matcher_runs_line_matching_on_the_embedded_store(reasoner, monkeypatch):
    # the regimen table ran its own query on an rdflib Graph before a first fix (OxigraphStore has no .query);
    # now a drafted order is the derivation's line-matching step run on a scratch patient of the embedded store
    # (whatever backend the derivation uses); its equality with the derivation: tests/test_order_matching.py
    taken, run = [], []
    original_take, original_construct = reasoner.store.patient_graph, PatientScope.construct

    def take(triples):
        taken.append(len(triples))
        return original_take(triples)

    def construct(scope, text):
        run.append(text)
        return original_construct(scope, text)

    monkeypatch.setattr(reasoner.store, "patient_graph", take)
    monkeypatch.setattr(PatientScope, "construct", construct)
    matcher = cds_orders.RegimenMatcher(reasoner.store, reasoner.parser)
    assert not taken and not run  # building it runs nothing
    assert matcher.regimens_of(["fulvestrant"])
    assert len(taken) == 1 and taken[0] > 0 and run == [query_catalog.load(cds_orders.LINE_MATCHING)]
    assert not hasattr(cds_orders, "run_oxigraph") and not hasattr(cds_orders, "run_rdflib")


def test_the_fhir_mapping_runs_its_queries_through_the_shared_runner(reasoner, monkeypatch):
    # fails before the fix: mapping._rows ran the queries on a scratch store of its own making
    calls = _spy_on_runner(monkeypatch, fhir_mapping, raising=False)
    names = {name: reasoner.vocabulary.generic_names[d] for name, d in reasoner.vocabulary.drugs_by_name.items()}
    mapping = fhir_mapping.read_fhir_mapping(reasoner.store, names)
    assert "service/fhir-codes" in calls and "service/fhir-roles" in calls
    assert mapping.by_code == reasoner.fhir.mapping.by_code and mapping.roles == reasoner.fhir.mapping.roles


# ---------------------------------------------------------------- 4. per-request work derived once; refusals


class NoScan(dict):
    """A code table that may be looked up but not scanned."""

    def __iter__(self):
        raise AssertionError("the code table was scanned for one request")

    def keys(self):
        raise AssertionError("the code table was scanned for one request")

    def items(self):
        raise AssertionError("the code table was scanned for one request")


def test_a_patients_gender_is_looked_up_not_scanned_for(reasoner):
    # fails before the fix: the adapter scanned every (system, code) of the table for the gender's code
    adapter = fhir_adapter.FhirAdapter(reasoner.store, {})
    bundle = json.loads(FHIR_BUNDLE.read_text(encoding="utf-8"))
    expected = adapter.convert(bundle).document.get("sex")
    assert expected  # the fixture's Patient has a gender the pathway reads
    adapter.mapping.by_code = NoScan(adapter.mapping.by_code)
    assert adapter.convert(bundle).document.get("sex") == expected


def test_the_step_labels_are_indexed_once_per_pathway(reasoner, monkeypatch):
    # fails before the fix: step_by_label() was rebuilt twice per drawing
    answer = reasoner.recommend(EXAMPLE.read_bytes(), today=TODAY)
    assert answer["assessment"]["pathway_position"]
    built = []
    original = drawing.Pathway.step_by_label

    def counted(self):
        built.append(1)
        return original(self)

    monkeypatch.setattr(drawing.Pathway, "step_by_label", counted)
    pathway = drawing.read_pathway(reasoner.store)
    after_reading = len(built)
    for _ in range(3):
        drawing.to_dot(pathway, answer)
    assert len(built) == after_reading <= 1


def test_a_line_at_a_step_the_pathway_does_not_hold_is_refused_in_words(reasoner):
    # fails before the fix: the line was dropped from the picture without a word
    pathway = drawing.read_pathway(reasoner.store)
    answer = reasoner.recommend(EXAMPLE.read_bytes(), today=TODAY)
    odd = copy.deepcopy(answer)
    odd["assessment"]["pathway_position"][0]["step"] = "A step no graph holds"
    with pytest.raises(drawing.UnknownStep, match="A step no graph holds") as refused:
        drawing.to_dot(pathway, odd)
    assert "pathway_position[0].step" in str(refused.value)
    assert isinstance(refused.value, drawing.DrawingUnavailable)  # the HTTP surface answers 503 in words
    drawing.to_dot(pathway, answer)  # the answer as the reasoner gave it is drawn


# ---------------------------------------------------------------- 5. the example files read once


def test_an_example_file_is_read_once(client, monkeypatch):
    # fails before the fix: each GET /ui/examples/{name} read the file again
    pages.examples.cache_clear()
    if hasattr(pages, "example_files"):
        pages.example_files.cache_clear()
    first = client.get("/ui/examples/patient-esr1-after-cdk46.json")
    assert first.status_code == 200 and first.content == EXAMPLE.read_bytes()

    def gone(*_):
        raise AssertionError("the examples folder was read again")

    monkeypatch.setattr(pages, "data_dir", gone)
    again = client.get("/ui/examples/patient-esr1-after-cdk46.json")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-type"].startswith("application/json")
    assert client.get("/ui/examples/nothing.json").status_code == 404


# ---------------------------------------------------------------- found on the way


def test_a_cds_hooks_body_nested_too_deeply_is_a_400_not_a_500(client):
    # fails before the fix: json.loads raised RecursionError, which the route did not catch (a 500)
    service = next(iter(cds_hooks.SERVICES))
    deep = client.post(f"/cds-services/{service}", content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and deep.json()["error"] == "bad_request"
    assert "nested too deeply" in deep.json()["message"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"hook": "patient-view", "hookInstance": "i1", "context": {"patientId": "p1"}, "n": NaN}', "NaN"),
        (b'{"hook": "patient-view", "hookInstance": "i1", "context": {"patientId": "p1", "n": -Infinity}}', "Infinity"),
        (
            b'{"hook": "order-select", "hook": "patient-view", "hookInstance": "i1", "context": {"patientId": "p1"}}',
            "hook",
        ),
    ],
)
def test_a_cds_hooks_body_with_a_value_json_does_not_have_is_refused(client, body, named):
    # fails before the fix: json.loads took NaN and Infinity as numbers and kept the last of two "hook" names,
    # so the service went on with a body that is not JSON, or with one of two values it chose silently
    service = next(iter(cds_hooks.SERVICES))
    answer = client.post(f"/cds-services/{service}", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    assert named in answer.json()["message"]


def test_a_cds_hooks_body_declared_too_large_is_refused_before_it_is_read(client, monkeypatch):
    # fails before the fix: the route read the body chunk by chunk whatever its declared Content-Length
    read: list[bytes] = []
    original = cds_hooks.Request.stream

    async def spying(self):
        async for chunk in original(self):
            read.append(chunk)
            yield chunk

    monkeypatch.setattr(cds_hooks.Request, "stream", spying)
    service = next(iter(cds_hooks.SERVICES))
    small = b"{}"
    headers = {"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)}
    answer = client.post(f"/cds-services/{service}", content=small, headers=headers)
    assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"
    assert read == []
