"""What the app prepares once and every router shares: the reasoner, the catalog, the exporter, the SPARQL
workers. Routers call these through the module (`state.get_reasoner()`), so a test can put a prepared
reasoner in place of the default one."""

from __future__ import annotations

import os
from functools import lru_cache

from kg_service.graph.catalog_resources import CatalogResources
from kg_service.graph.export import Exporter
from kg_service.http.sparql_workers import SparqlWorkers
from kg_service.service import Reasoner


@lru_cache(maxsize=1)
def get_reasoner() -> Reasoner:
    return Reasoner()


@lru_cache(maxsize=1)
def get_catalog() -> CatalogResources:
    return CatalogResources(get_reasoner().store)


@lru_cache(maxsize=1)
def get_exporter() -> Exporter:
    return Exporter(get_reasoner().graph)


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


def version_headers() -> dict[str, str]:
    """The graph version on every knowledge response: a header and the ETag."""
    version = get_reasoner().version
    return {"X-Knowledge-Graph-Version": version, "ETag": f'"{version}"'}
