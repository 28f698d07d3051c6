"""Shared fixtures: the knowledge graph and the reasoner are built once per test session."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kg_service.graph.loader import load_graph
from kg_service.service import Reasoner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def graph():
    return load_graph()


@pytest.fixture(scope="session")
def reasoner(graph):
    return Reasoner(graph=graph, sparql_endpoint="")  # embedded, whatever MBC_KG_SPARQL_ENDPOINT says


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def statuses(answer: dict) -> dict[tuple[str, str], str]:
    return {(o["step"]["label"], o["regimen"]["label"]): o["status"] for o in answer["options"]}


@contextmanager
def serving(reasoner, caches: Iterable[Callable] = (), raise_server_exceptions: bool = False) -> Iterator:
    """A TestClient of the app that answers with the session's prepared reasoner; `caches` (lru_cache'd
    getters built from the reasoner) are cleared before and after, so no other test sees their values."""
    from fastapi.testclient import TestClient

    from kg_service.api import app
    from kg_service.http import state

    original = state.get_reasoner
    state.get_reasoner = lambda: reasoner
    for cache in caches:
        cache.cache_clear()
    try:
        with TestClient(app, raise_server_exceptions=raise_server_exceptions) as test_client:
            yield test_client
    finally:
        state.get_reasoner = original
        for cache in caches:
            cache.cache_clear()


@pytest.fixture(scope="module")
def client(reasoner):
    """The app on the session's reasoner (a module may define its own `client` to clear more caches)."""
    with serving(reasoner) as test_client:
        yield test_client
