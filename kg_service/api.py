"""The HTTP API (thin): `POST /v1/recommendations`, `POST /v1/validate`, `GET /health`.

Everything is prepared once at start-up; a request parses, validates and derives one patient.
Errors share one JSON shape: {"error": code, "message": text, "violations": [{"field", "message"}]}.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .errors import BadRequest, InvalidPatient
from .service import JSON_TYPES, RDF_TYPES, Reasoner

log = logging.getLogger("kg_service.api")
MAX_BODY_BYTES = 1_000_000
ACCEPTED_TYPES = sorted(JSON_TYPES | set(RDF_TYPES))

EXAMPLE_PATIENT = {
    "id": "pt-0001",
    "sex": "female",
    "menopausal_status": "postmenopausal",
    "stage": "metastatic",
    "metastatic_diagnosis_date": "2025-02-10",
    "er": "positive",
    "pr": "negative",
    "her2": {"ihc": "1+", "ish": "not_done"},
    "biomarkers": [
        {
            "gene": "ESR1",
            "result": "detected",
            "variant": "p.Y537S",
            "origin": "somatic",
            "specimen": "plasma",
            "date": "2026-05-10",
        },
    ],
    "therapies": [
        {
            "setting": "metastatic",
            "line": 1,
            "drugs": ["letrozole", "ribociclib"],
            "start_date": "2025-03-01",
            "end_date": "2026-05-01",
            "outcome": "progression",
        },
    ],
}
PATIENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}, "example": EXAMPLE_PATIENT},
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


@asynccontextmanager
async def lifespan(_: FastAPI):
    get_reasoner()  # parse and prepare everything before the first request
    yield


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


@app.exception_handler(StarletteHTTPException)
async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error(exc.status_code, "http_error", str(exc.detail))


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


async def _read_body(request: Request) -> tuple[bytes, str] | JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    media = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media not in JSON_TYPES and media not in RDF_TYPES:
        return error(
            415,
            "unsupported_media_type",
            f"content type {media!r} is not accepted; use one of {', '.join(ACCEPTED_TYPES)}",
        )
    return body, media


@app.post(
    "/v1/recommendations",
    openapi_extra=PATIENT_BODY,
    responses={200: {"description": "Every option of the pathway with its status"}, **ERROR_RESPONSES},
)
async def recommendations(request: Request) -> JSONResponse:
    """Every (step, regimen) option of the pathway for one patient, with status, reasons, missing data and evidence."""
    read = await _read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        answer = get_reasoner().recommend(body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    except InvalidPatient as exc:
        return error(
            422,
            "invalid_patient",
            "the patient document is invalid or outside the pathway",
            [v.as_dict() for v in exc.violations],
        )
    return JSONResponse(answer)


@app.post(
    "/v1/validate",
    openapi_extra=PATIENT_BODY,
    responses={200: {"description": "The patient is valid"}, **ERROR_RESPONSES},
)
async def validate(request: Request) -> JSONResponse:
    """Validate a patient document against the patient shapes without deriving anything."""
    read = await _read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        verdict = get_reasoner().validate(body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    if not verdict["valid"]:
        return error(
            422, "invalid_patient", "the patient document is invalid or outside the pathway", verdict["violations"]
        )
    return JSONResponse(verdict)


@app.get("/health")
async def health() -> dict:
    """Liveness, with the knowledge graph's version."""
    reasoner = get_reasoner()
    return {"status": "ok", "knowledge_graph_version": reasoner.version}
