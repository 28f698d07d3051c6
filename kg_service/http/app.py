"""The HTTP API (thin): the FastAPI app, its error handlers and its routers, one per surface.

Everything is prepared once at start-up (`kg_service.http.state`); a request parses, validates and derives
one patient. Errors share one JSON shape: {"error": code, "message": text, "violations": [{"field", "message"}]}.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg_service import __version__
from kg_service.core.memory import freeze_start_up_objects
from kg_service.http import batching, catalog, cds_hooks, downloads, drawing, pages, recommendations, sparql, state
from kg_service.http.openapi import PATIENT_SCHEMA_NAME, patient_document_schema
from kg_service.http.responses import MAX_BODY_BYTES, error

log = logging.getLogger("kg_service.http.app")
__all__ = ["app", "MAX_BODY_BYTES"]


@asynccontextmanager
async def lifespan(_: FastAPI):
    state.get_reasoner()  # parse and prepare everything before the first request
    state.prepare(drawing.prepare, cds_hooks.get_regimens, pages.example_files)  # else built on first use
    state.get_sparql_workers()
    freeze_start_up_objects()  # the graph and everything prepared stay out of garbage collections (core/memory.py)
    yield
    batching.close_batcher()
    state.get_sparql_workers().close()
    state.get_sparql_workers.cache_clear()


app = FastAPI(
    title="mbc-kg: HR+/HER2- metastatic breast cancer pathway reasoner",
    version=__version__,
    description="Derives, from a patient document, the status of every regimen of the pathway "
    "(recommended, eligible, undetermined, not_eligible) with reasons, missing data and evidence. "
    "Not medical advice.",
    lifespan=lifespan,
    docs_url=None,  # /docs and /redoc are served offline by pages.install
    redoc_url=None,
)
for module in (recommendations, catalog, downloads, sparql, drawing, cds_hooks):
    app.include_router(module.router)
pages.install(app)


def openapi() -> dict:
    """The OpenAPI description, with the patient document's schema generated from the shapes (once)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})[PATIENT_SCHEMA_NAME] = patient_document_schema(
            state.get_reasoner().graph
        )
        app.openapi_schema = schema
    return app.openapi_schema


app.openapi = openapi  # type: ignore[method-assign]


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    response = error(exc.status_code, "http_error", str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:  # Allow lists every method served at this path, whichever route serves it
        methods = sorted(
            {
                m
                for r in app.routes
                if getattr(r, "path", None) == request.url.path
                for m in (getattr(r, "methods", None) or ())
                if m != "HEAD"
            }
        )
        response.headers["Allow"] = ", ".join(methods)
    return response


@app.exception_handler(RequestValidationError)
async def request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    violations = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
    ]
    return error(422, "invalid_request", "the request is invalid", violations)


@app.exception_handler(Exception)
async def unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("internal error: %s", type(exc).__name__)  # never log patient data
    return error(500, "internal_error", "the server failed to answer; the error was logged")
