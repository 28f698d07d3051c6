"""What the app prepares once and every router shares: the reasoner, the catalog, the exporter, the SPARQL
workers. Routers call these through the module (`state.get_reasoner()`), so a test can put a prepared
reasoner in place of the default one.

A value built from the reasoner (`per_reasoner`) is built once, under a lock, however many request threads
ask for it first, and built again only when the app's reasoner is replaced (a test's `serving(...)`): a value
built from one reasoner is never served with another. The app's start-up (`kg_service/http/app.py`) builds
them before the first request (`prepare`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache, update_wrapper
from typing import Generic, TypeVar

from kg_service.graph.catalog_resources import CatalogResources
from kg_service.graph.export import Exporter
from kg_service.http.sparql_workers import SparqlWorkers
from kg_service.service import Reasoner

T = TypeVar("T")


@lru_cache(maxsize=1)
def get_reasoner() -> Reasoner:
    return Reasoner()


class PerReasoner(Generic[T]):
    """A getter of a value built from the app's reasoner (`build(reasoner)`): built once under a lock
    (double-checked, so that concurrent first calls build one value), kept with the reasoner it was built
    from, and rebuilt when `get_reasoner()` gives another reasoner. `cache_clear()` forgets it."""

    def __init__(self, build: Callable[[Reasoner], T]):
        self._build = build
        self._lock = threading.Lock()
        self._held: tuple[Reasoner, T] | None = None
        update_wrapper(self, build)

    def __call__(self) -> T:
        reasoner = get_reasoner()  # the module's current getter: a test may have replaced it
        held = self._held
        if held is None or held[0] is not reasoner:
            with self._lock:
                held = self._held
                if held is None or held[0] is not reasoner:
                    held = (reasoner, self._build(reasoner))
                    self._held = held
        return held[1]

    def cache_clear(self) -> None:
        with self._lock:
            self._held = None


def per_reasoner(build: Callable[[Reasoner], T]) -> PerReasoner[T]:
    """Decorator: `build(reasoner)` as a PerReasoner getter."""
    return PerReasoner(build)


class Once(Generic[T]):
    """A getter of a value that depends on no reasoner (`build()`), built once under a lock (double-checked);
    `cache_clear()` forgets it."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._lock = threading.Lock()
        self._built: list[T] = []  # empty until built (the value itself may be anything)
        update_wrapper(self, build)

    def __call__(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._built.append(self._build())
        return self._built[0]

    def cache_clear(self) -> None:
        with self._lock:
            self._built = []


@per_reasoner
def get_catalog(reasoner: Reasoner) -> CatalogResources:
    return CatalogResources(reasoner.store)


@per_reasoner
def get_exporter(reasoner: Reasoner) -> Exporter:
    return Exporter(reasoner.graph)


@lru_cache(maxsize=1)
def get_sparql_workers() -> SparqlWorkers:
    data = get_reasoner().graph.serialize(format="nt", encoding="utf-8")
    return SparqlWorkers(
        data,
        workers=int(os.environ.get("MBC_KG_SPARQL_WORKERS", "2")),
        timeout=float(os.environ.get("MBC_KG_SPARQL_TIMEOUT", "5")),
        max_rows=int(os.environ.get("MBC_KG_SPARQL_MAX_ROWS", "10000")),
        queue=int(os.environ.get("MBC_KG_SPARQL_QUEUE", "8")),
    )


def prepare(*getters: Callable[[], object]) -> None:
    """Build, before the first request, what requests would otherwise build on first use: the reasoner, its
    FHIR adapter, the catalog, the exporter, and the routers' own `getters`."""
    get_reasoner().fhir  # noqa: B018 - built once (Reasoner.fhir holds it)
    for getter in (get_catalog, get_exporter, *getters):
        getter()


def version_headers() -> dict[str, str]:
    """The graph version on every knowledge response: a header and the ETag."""
    version = get_reasoner().version
    return {"X-Knowledge-Graph-Version": version, "ETag": f'"{version}"'}
