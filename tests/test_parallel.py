"""Independent queries of one request run side by side on threads: the same answers, in the same order,
whatever the number of threads."""

from __future__ import annotations

import json
import threading
import time

import pytest

from kg_service.core.parallel import deal, default_threads, map_queries
from kg_service.service import Reasoner

from .conftest import ROOT, TODAY

VIGNETTES = sorted((ROOT / "tests" / "vignettes").glob("*.json"))


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 18])
def test_results_keep_the_order_of_the_items(threads, count):
    assert map_queries(lambda n: n * n, range(count), threads) == [n * n for n in range(count)]


def test_items_are_shared_between_threads():
    seen: set[str] = set()

    def record(n: int) -> int:
        seen.add(threading.current_thread().name)
        return n

    map_queries(record, range(10), 2)
    assert len(seen) == 2


def test_weights_deal_the_heaviest_first_to_the_lightest_share():
    assert deal([5.0, 1.0, 1.0, 1.0, 1.0, 1.0], 2) == [[0], [1, 2, 3, 4, 5]]
    assert deal([1.0, 4.0, 2.0, 2.0], 2) == [[0, 1], [2, 3]]  # 4 | 2, 2 | then 1 to the first of two equals
    assert deal([1.0, 1.0, 1.0], 2) == [[0, 2], [1]]  # equal weights: round-robin


@pytest.mark.parametrize("threads", [2, 3])
def test_weighted_results_keep_the_order_of_the_items(threads):
    weights = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]
    assert map_queries(lambda n: -n, range(7), threads, weights) == [-n for n in range(7)]


def test_the_reasoner_weighs_each_step_by_its_measured_time(graph):
    threaded = Reasoner(graph=graph, sparql_endpoint="", threads=2)
    shape = [len(stage) for stage in threaded.pipeline.stages]
    assert [len(weights) for weights in threaded.pipeline.weights] == shape
    assert all(0 < weight < 1 for weights in threaded.pipeline.weights for weight in weights)  # seconds


def test_an_error_in_a_query_reaches_the_caller():
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("query 3 failed")
        return n

    with pytest.raises(ValueError, match="query 3 failed"):
        map_queries(fail_on_three, range(6), 2)


def test_an_error_in_the_callers_share_waits_for_the_other_shares():
    finished: list[int] = []

    def slow_unless_first(n: int) -> int:
        if n == 0:
            raise ValueError("query 0 failed")
        time.sleep(0.05)
        finished.append(n)
        return n

    with pytest.raises(ValueError, match="query 0 failed"):
        map_queries(slow_unless_first, range(4), 2)  # the caller takes 0 and 2; a pool thread 1 and 3
    assert sorted(finished) == [1, 3]


@pytest.mark.parametrize("setting", ["0", "-2", "two"])
def test_a_bad_thread_setting_is_refused_by_name(monkeypatch, setting):
    monkeypatch.setenv("MBC_KG_QUERY_THREADS", setting)
    with pytest.raises(ValueError, match="MBC_KG_QUERY_THREADS"):
        default_threads()


def test_the_thread_setting_is_read(monkeypatch):
    monkeypatch.setenv("MBC_KG_QUERY_THREADS", "3")
    assert default_threads() == 3


def test_answers_and_verdicts_do_not_depend_on_threads(graph):
    serial = Reasoner(graph=graph, sparql_endpoint="", threads=1)
    threaded = Reasoner(graph=graph, sparql_endpoint="", threads=3)
    assert threaded.pipeline.threads == 3
    for path in VIGNETTES:
        patient = json.loads(path.read_text(encoding="utf-8"))["patient"]
        assert threaded.validate(patient, today=TODAY) == serial.validate(patient, today=TODAY), path.name
        if serial.validate(patient, today=TODAY)["valid"]:
            assert threaded.recommend(patient, today=TODAY) == serial.recommend(patient, today=TODAY), path.name


def test_violations_do_not_depend_on_threads(graph):
    serial = Reasoner(graph=graph, sparql_endpoint="", threads=1)
    threaded = Reasoner(graph=graph, sparql_endpoint="", threads=2)
    patient = json.loads(VIGNETTES[0].read_text(encoding="utf-8"))["patient"]
    broken = {
        **patient,
        "sex": "unknown-value",
        "her2": {"ihc": "4+"},
        "biomarkers": [{"gene": "ESR1", "result": "maybe"}],
        "therapies": [{"setting": "metastatic", "line": 0, "drugs": [], "start_date": "2026-13-01"}],
    }
    verdict = serial.validate(broken, today=TODAY)
    assert not verdict["valid"] and len(verdict["violations"]) >= 4
    assert threaded.validate(broken, today=TODAY) == verdict
