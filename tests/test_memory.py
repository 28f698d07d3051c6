"""Start-up objects are kept out of garbage collections (kg_service/core/memory.py), in the server and in
the screening workers: a full collection walked every object of the loaded graph on every request."""

from __future__ import annotations

import gc

import pytest

from kg_service.core import memory


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


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
