"""The HTTP API (thin): recommendations and validation for apps, the catalog, the SPARQL 1.1 Protocol
endpoint and the graph for download.

Everything is prepared once at start-up; a request parses, validates and derives one patient.
Errors share one JSON shape: {"error": code, "message": text, "violations": [{"field", "message"}]}.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .catalog_api import CatalogResources
from .errors import BadRequest, InvalidPatient
from .graph_export import MEDIA_TYPES, Exporter
from .negotiation import choose
from .service import JSON_TYPES, RDF_TYPES, Reasoner
from .sparql_endpoint import ProtocolError, execute, query_from_request
from .sparql_workers import SparqlWorkers

log = logging.getLogger("kg_service.api")
MAX_BODY_BYTES = 1_000_000
ACCEPTED_TYPES = sorted(JSON_TYPES | set(RDF_TYPES))

EXAMPLES = json.loads((Path(__file__).parent / "openapi_examples.json").read_text(encoding="utf-8"))
EXAMPLE_PATIENT = EXAMPLES["patient"]
DATE = {"type": "string", "format": "date"}
PATIENT_SCHEMA = {
    "type": "object",
    "description": "The patient document of the app contract (docs/patient-api-contract.md).",
    "required": ["id", "stage", "er", "her2"],
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "sex": {"enum": ["female", "male"]},
        "menopausal_status": {"enum": ["premenopausal", "perimenopausal", "postmenopausal"]},
        "stage": {"enum": ["metastatic", "locally_advanced_unresectable", "early"]},
        "metastatic_diagnosis_date": DATE,
        "er": {"enum": ["positive", "low", "negative"]},
        "pr": {"enum": ["positive", "negative", "unknown"]},
        "her2": {
            "type": "object",
            "required": ["ihc"],
            "properties": {
                "ihc": {"enum": ["0", "1+", "2+", "3+"]},
                "membrane_staining": {"type": "boolean"},
                "ish": {"enum": ["positive", "negative", "not_done"]},
            },
        },
        "biomarkers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["gene", "result"],
                "properties": {
                    "gene": {"type": "string"},
                    "result": {"enum": ["detected", "not_detected"]},
                    "variant": {"type": "string"},
                    "origin": {"enum": ["somatic", "germline"]},
                    "specimen": {"enum": ["tissue", "plasma"]},
                    "date": DATE,
                },
            },
        },
        "therapies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["setting", "drugs"],
                "properties": {
                    "setting": {"enum": ["neoadjuvant", "adjuvant", "metastatic"]},
                    "line": {"type": "integer", "minimum": 1},
                    "drugs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "start_date": DATE,
                    "end_date": {"anyOf": [DATE, {"type": "null"}]},
                    "outcome": {"enum": ["progression", "ongoing", "toxicity", "completed"]},
                },
            },
        },
    },
}
PATIENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PATIENT_SCHEMA, "example": EXAMPLE_PATIENT},
            "text/turtle": {"schema": {"type": "string"}},
            "application/ld+json": {"schema": {"type": "object"}},
        },
    }
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "violations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
EXAMPLE_ANSWER = EXAMPLES["answer"]
EXAMPLE_INVALID = EXAMPLES["invalid"]
ERROR_RESPONSES = {
    code: {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for code, text in (
        (400, "The body is not JSON or RDF"),
        (413, "The body is larger than the limit"),
        (415, "Unsupported content type"),
        (422, "The patient is invalid or outside the pathway; every violation is listed"),
    )
}


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
    )


@asynccontextmanager
async def lifespan(_: FastAPI):
    get_reasoner()  # parse and prepare everything before the first request
    get_sparql_workers()
    yield
    get_sparql_workers().close()
    get_sparql_workers.cache_clear()


app = FastAPI(
    title="mbc-kg: HR+/HER2- metastatic breast cancer pathway reasoner",
    version=__version__,
    description="Derives, from a patient document, the status of every regimen of the pathway "
    "(recommended, eligible, undetermined, not_eligible) with reasons, missing data and evidence. "
    "Not medical advice.",
    lifespan=lifespan,
)


def error(status: int, code: str, message: str, violations: list[dict] | None = None) -> JSONResponse:
    body: dict = {"error": code, "message": message}
    if violations is not None:
        body["violations"] = violations
    return JSONResponse(status_code=status, content=body)


def invalid_patient(violations: list[dict]) -> JSONResponse:
    """The 422 both patient endpoints give: every violation, each naming its field."""
    return error(422, "invalid_patient", "the patient document is invalid or outside the pathway", violations)


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


async def _read_body(request: Request, accept_any: bool = False) -> tuple[bytes, str] | JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    media = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if not accept_any and media not in JSON_TYPES and media not in RDF_TYPES:
        return error(
            415,
            "unsupported_media_type",
            f"content type {media!r} is not accepted; use one of {', '.join(ACCEPTED_TYPES)}",
        )
    return body, media


@app.post(
    "/v1/recommendations",
    openapi_extra=PATIENT_BODY,
    responses={
        200: {
            "description": "Every option of the pathway with its status",
            "content": {"application/json": {"example": EXAMPLE_ANSWER}},
        },
        **ERROR_RESPONSES,
        422: {
            "description": "The patient is invalid or outside the pathway; every violation is listed",
            "content": {"application/json": {"schema": ERROR_SCHEMA, "example": EXAMPLE_INVALID}},
        },
    },
)
async def recommendations(request: Request) -> JSONResponse:
    """Every (step, regimen) option of the pathway for one patient, with status, reasons, missing data and evidence."""
    read = await _read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        answer = await run_in_threadpool(get_reasoner().recommend, body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    except InvalidPatient as exc:
        return invalid_patient([v.as_dict() for v in exc.violations])
    return JSONResponse(answer)


@app.post(
    "/v1/validate",
    openapi_extra=PATIENT_BODY,
    responses={
        200: {
            "description": "The patient is valid",
            "content": {
                "application/json": {
                    "example": {"valid": True, "patient_id": "pt-0001", "violations": [], "warnings": []}
                }
            },
        },
        **ERROR_RESPONSES,
        422: {
            "description": "Every violation, by field",
            "content": {"application/json": {"schema": ERROR_SCHEMA, "example": EXAMPLE_INVALID}},
        },
    },
)
async def validate(request: Request) -> JSONResponse:
    """Validate a patient document against the patient shapes without deriving anything."""
    read = await _read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        verdict = await run_in_threadpool(get_reasoner().validate, body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    if not verdict["valid"]:
        return invalid_patient(verdict["violations"])
    return JSONResponse(verdict)


@app.get(
    "/health",
    responses={
        200: {
            "description": "Alive",
            "content": {"application/json": {"example": {"status": "ok", "knowledge_graph_version": "2026-11-25"}}},
        }
    },
)
async def health() -> dict:
    """Liveness, with the knowledge graph's version."""
    reasoner = get_reasoner()
    return {"status": "ok", "knowledge_graph_version": reasoner.version}


# ---------------------------------------------------------------- catalog


def _version_headers() -> dict[str, str]:
    version = get_reasoner().version
    return {"X-Knowledge-Graph-Version": version, "ETag": f'"{version}"'}


CATALOG_EXAMPLES = EXAMPLES["catalog"]


def _catalog_route(name: str, summary: str) -> None:
    async def handler() -> JSONResponse:
        return JSONResponse(getattr(get_catalog(), name), headers=_version_headers())

    handler.__name__ = f"catalog_{name}"
    app.get(
        f"/v1/{name}",
        summary=summary,
        responses={200: {"description": summary, "content": {"application/json": {"example": CATALOG_EXAMPLES[name]}}}},
    )(handler)


_catalog_route("steps", "Every pathway step with its label and note as the document writes them, and its children")
_catalog_route("regimens", "Every regimen with its drugs, the steps that propose it and its evidence")
_catalog_route("drugs", "Every drug with its class, brand names and external identifiers")
_catalog_route("trials", "Every clinical trial with its ClinicalTrials.gov number")
_catalog_route("biomarkers", "The biomarkers the pathway selects on, with genes and what to test")


# ---------------------------------------------------------------- the graph for download

RDF_OFFER = list(MEDIA_TYPES)


MEDIA_EXAMPLES = EXAMPLES["media"]


def _schema_for(media: str) -> dict:
    content: dict = {"schema": {}} if "json" in media else {"schema": {"type": "string"}}
    if media in MEDIA_EXAMPLES:
        content["example"] = MEDIA_EXAMPLES[media]
    return content


RDF_CONTENT = {media: _schema_for(media) for media in RDF_OFFER}


def _download(which: str, request: Request) -> Response:
    media_type = choose(request.headers.get("accept"), RDF_OFFER)
    if media_type is None:
        return error(406, "not_acceptable", f"available as: {', '.join(RDF_OFFER)}")
    body = get_exporter().serialize(which, media_type)
    extension = MEDIA_TYPES[media_type][1]
    headers = _version_headers() | {
        "Content-Disposition": f'inline; filename="mbc-kg-{which}.{extension}"',
        "Vary": "Accept",
    }
    return Response(body, media_type=media_type, headers=headers)


@app.get(
    "/ontology",
    responses={
        200: {"description": "The OWL vocabulary", "content": RDF_CONTENT},
        406: ERROR_RESPONSES[415] | {"description": "No acceptable format"},
    },
)
async def ontology(request: Request) -> Response:
    """The OWL 2 vocabulary (opens in Protégé), by content negotiation: Turtle, RDF/XML, JSON-LD, N-Triples."""
    return _download("ontology", request)


@app.get(
    "/graph",
    responses={
        200: {"description": "The whole knowledge graph", "content": RDF_CONTENT},
        406: ERROR_RESPONSES[415] | {"description": "No acceptable format"},
    },
)
async def whole_graph(request: Request) -> Response:
    """Vocabulary, pathway, criteria, regimens, drugs, evidence and mappings, by content negotiation."""
    return _download("graph", request)


# ---------------------------------------------------------------- SPARQL 1.1 Protocol

SPARQL_EXAMPLE = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?step ?label WHERE { ?step a <https://w3id.org/mbc-kg/ontology#TreatmentStep> ; rdfs:label ?label }"
)
SPARQL_RESULTS = {
    media: _schema_for(media)
    for media in [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
        *RDF_OFFER,
    ]
}
SPARQL_RESPONSES = {
    200: {"description": "Query results (SELECT/ASK) or a graph (CONSTRUCT/DESCRIBE)", "content": SPARQL_RESULTS},
    400: {
        "description": "Malformed, refused (Update, LOAD, SERVICE), over its time or size limit",
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    },
    406: {"description": "No acceptable result format", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
    415: ERROR_RESPONSES[415],
}


async def _sparql(request: Request) -> Response:
    body = b""
    if request.method == "POST":
        read = await _read_body(request, accept_any=True)
        if isinstance(read, JSONResponse):
            return read
        body = read[0]
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        query = query_from_request(request.method, params, request.headers.get("content-type", ""), body)
        outcome = await run_in_threadpool(execute, get_sparql_workers(), query, request.headers.get("accept"))
    except ProtocolError as exc:
        return error(exc.status, exc.error, exc.message)
    return Response(outcome.body, media_type=outcome.media_type, headers=_version_headers() | {"Vary": "Accept"})


@app.get("/sparql", responses=SPARQL_RESPONSES)
async def sparql_get(
    request: Request, query: str | None = Query(None, description="The SPARQL 1.1 query", examples=[SPARQL_EXAMPLE])
) -> Response:
    """SPARQL 1.1 Protocol query via GET. Read-only: Update, LOAD and SERVICE are refused; every query runs
    under a time limit and a result-size limit. The result format follows `Accept`."""
    return await _sparql(request)


@app.post(
    "/sparql",
    responses=SPARQL_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/sparql-query": {"schema": {"type": "string"}, "example": SPARQL_EXAMPLE},
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
                },
            }
        }
    },
)
async def sparql_post(request: Request) -> Response:
    """SPARQL 1.1 Protocol query via POST (`application/sparql-query`, or a form with `query`)."""
    return await _sparql(request)
