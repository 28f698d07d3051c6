"""Start-up objects are kept out of garbage collections (kg_service/core/memory.py), in the server and in
the screening workers: a full collection walked every object of the loaded graph on every request."""

from __future__ import annotations

import gc
import weakref

import pytest

from kg_service.core import memory


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual
    gc.set_threshold(*threshold)


def young_collections(work) -> int:
    """How many collections of the youngest generation `work()` started."""
    started = []

    def count(phase, info):
        if phase == "start" and info["generation"] == 0:
            started.append(1)

    gc.callbacks.append(count)
    try:
        work()
    finally:
        gc.callbacks.remove(count)
    return len(started)


class Held:
    pass


def test_freeze_takes_what_is_alive_out_of_collections(unfrozen):
    held = [Held() for _ in range(1000)]
    assert any(isinstance(o, Held) for o in gc.get_objects())
    frozen = memory.freeze_start_up_objects()
    assert frozen >= 1000
    assert not any(isinstance(o, Held) for o in gc.get_objects())  # collections no longer walk them
    later = Held()
    assert any(o is later for o in gc.get_objects(generation=0)) or gc.is_tracked(later)
    del held


def test_after_start_up_new_objects_are_collected_less_often_but_still_collected(unfrozen):
    # a screening batch's answers are ~50,000 small containers alive until the batch is written: at the default
    # threshold they set off a young collection every 700 (and, promoted, full ones); fails without the setting
    gc.set_threshold(700, 10, 10)

    def hold_a_batch():
        held = [{} for _ in range(20_000)]
        del held

    assert young_collections(hold_a_batch) >= 20
    memory.freeze_start_up_objects()
    assert gc.get_threshold()[0] == memory.YOUNG_THRESHOLD > 20_000
    assert young_collections(hold_a_batch) == 0
    # collections still run: an unreachable cycle is freed once enough new objects have been made
    cycle = Held()
    cycle.me = cycle
    gone = weakref.ref(cycle)
    del cycle
    assert gone() is not None
    assert young_collections(lambda: [[] for _ in range(2 * memory.YOUNG_THRESHOLD)]) >= 1
    assert gone() is None


def test_the_server_freezes_after_start_up(unfrozen, monkeypatch):
    from fastapi.testclient import TestClient

    from kg_service.http import app as app_module

    calls = []
    monkeypatch.setattr(app_module, "freeze_start_up_objects", lambda: calls.append(gc.get_freeze_count()) or 0)
    with TestClient(app_module.app) as client:
        assert calls == [0]  # once, at start-up, before any request
        assert client.get("/health").status_code == 200
    assert len(calls) == 1


def test_a_screening_worker_freezes_after_loading(unfrozen, monkeypatch):
    from kg_service.cohort import screening

    calls = []
    monkeypatch.setattr(screening, "freeze_start_up_objects", lambda: calls.append(screening._WORKER) or 0)
    screening._init_worker(1)
    assert calls and calls[0] is not None  # after the worker's Reasoner exists


def test_a_dask_worker_freezes_once_after_loading(unfrozen, monkeypatch):
    # fails before the fix: a Dask worker loaded its Reasoner and never froze it, so its collections walked the graph
    from kg_service.cohort import distributed

    calls = []
    monkeypatch.setattr(distributed, "_reasoner", None)
    monkeypatch.setattr(distributed, "freeze_start_up_objects", lambda: calls.append(distributed._reasoner) or 0)
    first = distributed._worker_reasoner()
    assert distributed._worker_reasoner() is first
    assert calls == [first]  # once, after the worker's Reasoner exists
