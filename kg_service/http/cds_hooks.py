"""CDS Hooks 2.0 (issue 15): discovery, the patient-view and order-select services, feedback and its counts.

A service call gets the patient's FHIR data from `prefetch`, else from `fhirServer` with the client's token
(412 when neither gives it), converts it with the FHIR adapter and is judged through the same batching path
as /v1/recommendations; cards are built from the answer (kg_service/cds/cards.py). With trusted issuers
configured (MBC_KG_CDS_TRUSTED_ISSUERS) every call must carry a valid JWT (401 otherwise). Every response
allows CORS, as browser clients (the CDS Hooks sandbox) need.
"""

from __future__ import annotations

import json
import os

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.routing import NoMatchFound

from kg_service.cds.cards import CardMaker
from kg_service.cds.feedback import FeedbackError, FeedbackStore, check_feedback
from kg_service.cds.orders import RegimenMatcher
from kg_service.cds.prefetch import FetchFailed, MissingData, gather
from kg_service.cds.security import TokenVerifier, Unauthorized, read_issuers
from kg_service.cds.services import ORDER_SELECT, PATIENT_VIEW, SERVICES
from kg_service.core.errors import BadRequest
from kg_service.http import state
from kg_service.http.openapi import ERROR_SCHEMA, EXAMPLES
from kg_service.http.recommendations import _judge
from kg_service.http.responses import error, read_body
from kg_service.patient.json_text import strict_json
from kg_service.service import Reasoner

router = APIRouter(tags=["cds-hooks"])

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}

# The documented examples are data (kg_service/http/openapi_examples.json), like the API's other examples.
EXAMPLE_REQUEST = EXAMPLES["cds"]["request"]
EXAMPLE_CARDS = EXAMPLES["cds"]["cards"]
EXAMPLE_FEEDBACK = EXAMPLES["cds"]["feedback"]
EXAMPLE_COUNT = EXAMPLES["cds"]["count"]


def _documented(code: int, text: str) -> dict:
    return {code: {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}}


NOT_FOUND = _documented(404, "No such CDS service")
UNAUTHORIZED = _documented(401, "Trusted issuers are configured and the bearer JWT is missing or invalid")
BAD = _documented(400, "The body is not JSON, or breaks the CDS Hooks request or feedback shape (the field is named)")
TOO_LARGE = _documented(413, "The body is larger than 1 MB")


@state.Once
def get_feedback_store() -> FeedbackStore:
    """One store for the process (two, built by concurrent first calls, would each keep part of the feedback)."""
    return FeedbackStore(os.environ.get("MBC_KG_CDS_FEEDBACK_DB", ":memory:"))


@state.Once
def get_verifier() -> TokenVerifier:
    return TokenVerifier(read_issuers(os.environ.get("MBC_KG_CDS_TRUSTED_ISSUERS")))


def fhir_timeout() -> float:
    return float(os.environ.get("MBC_KG_CDS_FHIR_TIMEOUT", "10"))


def _base(request: Request) -> str:
    return (os.environ.get("MBC_KG_CDS_BASE_URL") or str(request.base_url)).rstrip("/")


def _page(request: Request) -> str | None:
    """The clinician's page (GET /, kg_service/http/pages.py), if this deployment serves one. It takes no
    patient in its URL, so the link opens the page, and the card names the graph version it was built on."""
    try:
        return _base(request) + request.app.url_path_for("page")
    except NoMatchFound:
        return None


def _cors(response: Response) -> Response:
    response.headers.update(CORS)
    return response


def _error(status: int, code: str, message: str, violations: list[dict] | None = None) -> Response:
    return _cors(error(status, code, message, violations))


def _authorize(request: Request) -> Response | None:
    verifier = get_verifier()
    if not verifier.enabled:
        return None
    audience = _base(request) + request.url.path
    try:
        verifier.verify(request.headers.get("authorization"), audience)
    except Unauthorized as exc:
        response = _error(401, "unauthorized", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


async def _json_body(request: Request) -> dict | Response:
    """The body as a JSON object, read as the API reads its bodies (read_body: at most MAX_BODY_BYTES, refused
    from its Content-Length before it is read), or the error response to send instead."""
    read = await read_body(request, accept_any=True)
    if isinstance(read, Response):
        return _cors(read)
    try:
        parsed = strict_json(read[0])
    except BadRequest as exc:
        return _error(400, "bad_request", str(exc))
    if not isinstance(parsed, dict):
        return _error(400, "bad_request", "the body must be a JSON object")
    return parsed


async def _admitted(service_id: str, request: Request) -> dict | Response:
    """The JSON body of a call to a known service by an authorised client, or the error response to send."""
    if service_id not in SERVICES:
        return _error(404, "not_found", f"no CDS service {service_id!r}; see GET /cds-services")
    denied = _authorize(request)
    if denied is not None:
        return denied
    return await _json_body(request)


@router.options("/cds-services", include_in_schema=False)
@router.options("/cds-services/{service_id}", include_in_schema=False)
@router.options("/cds-services/{service_id}/feedback", include_in_schema=False)
async def preflight() -> Response:
    return _cors(Response(status_code=204))


@router.get(
    "/cds-services",
    responses={
        200: {
            "description": "The CDS services (CDS Hooks 2.0 discovery)",
            "content": {"application/json": {"example": {"services": list(SERVICES.values())}}},
        }
    },
)
async def discovery() -> JSONResponse:
    """CDS Hooks discovery: the patient-view and order-select services with their prefetch templates."""
    return _cors(JSONResponse({"services": list(SERVICES.values())}))


def _check_request(service_id: str, body: dict) -> list[dict]:
    problems = []
    if body.get("hook") != SERVICES[service_id]["hook"]:
        problems.append(
            {
                "field": "hook",
                "message": f"must be {SERVICES[service_id]['hook']!r} for this service (got {body.get('hook')!r})",
            }
        )
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        problems.append({"field": "hookInstance", "message": "is required: a UUID for this hook's firing"})
    context = body.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("patientId"), str):
        problems.append({"field": "context.patientId", "message": "is required"})
    if body.get("fhirAuthorization") is not None and not isinstance(body.get("fhirServer"), str):
        problems.append({"field": "fhirServer", "message": "is required when fhirAuthorization is sent"})
    if service_id == ORDER_SELECT and isinstance(context, dict):
        drafts = context.get("draftOrders")
        if not isinstance(drafts, dict) or drafts.get("resourceType") != "Bundle":
            problems.append({"field": "context.draftOrders", "message": "is required: a Bundle of the draft orders"})
        if not isinstance(context.get("selections"), list):
            problems.append(
                {"field": "context.selections", "message": "is required: the references of the selected orders"}
            )
    return problems


@state.per_reasoner
def get_regimens(reasoner: Reasoner) -> RegimenMatcher:
    """The drafted orders' regimen matcher (the derivation's line matching on the reasoner's embedded store),
    built once per reasoner (prepared at start-up)."""
    return RegimenMatcher(reasoner.store, reasoner.parser)


def _drafted(body: dict) -> tuple[list[tuple[list[str], list[str], set[str]]], list[tuple[str, str]]]:
    """The selected draft MedicationRequests as one regimen (their references and the drugs they name), and
    the selected orders whose drug the graph does not know (reference, the order's text), which the check
    cannot cover and a card must name."""
    context = body["context"]
    selections = {s for s in context.get("selections") or [] if isinstance(s, str)}
    references, drugs, unknown = [], [], []
    adapter = state.get_reasoner().fhir
    entries = context["draftOrders"].get("entry")
    for entry in entries if isinstance(entries, list) else []:
        resource = (entry or {}).get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
            continue
        reference = f"MedicationRequest/{resource.get('id')}"
        if selections and reference not in selections:
            continue
        concept = resource.get("medicationCodeableConcept")
        drug = adapter.drug_of(concept)
        if drug:
            references.append(reference)
            drugs.append(drug)
        else:
            text = concept.get("text") if isinstance(concept, dict) else None
            unknown.append((reference, text if isinstance(text, str) else "no drug name given"))
    return ([(references, drugs, get_regimens().regimens_of(drugs))] if drugs else []), unknown


@router.post(
    "/cds-services/{service_id}",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}, "example": EXAMPLE_REQUEST}}}
    },
    responses={
        200: {"description": "Cards (CDS Hooks 2.0)", "content": {"application/json": {"example": EXAMPLE_CARDS}}},
        **BAD,
        **UNAUTHORIZED,
        **NOT_FOUND,
        **TOO_LARGE,
        **_documented(412, "No prefetch and no fhirServer: the service cannot get the patient data it needs"),
        **_documented(502, "The FHIR server did not give the data (error, timeout, redirect to another host)"),
        **_documented(503, "More requests are waiting than the queue allows; retry after Retry-After"),
    },
)
async def call_service(service_id: str, request: Request) -> Response:
    """Call a CDS service: patient-view cards (the pathway's options, the tests that would decide the
    undetermined ones) or order-select cards (the drafted regimen checked against the answer)."""
    body = await _admitted(service_id, request)
    if isinstance(body, Response):
        return body
    problems = _check_request(service_id, body)
    if problems:
        return _error(400, "bad_request", "the CDS Hooks request is malformed", problems)
    try:
        bundle = await run_in_threadpool(gather, body, SERVICES[service_id]["prefetch"], fhir_timeout())
    except MissingData as exc:
        return _error(412, "precondition_failed", str(exc))
    except FetchFailed as exc:
        return _error(502, "fhir_server_error", str(exc))
    judged = await _judge(json.dumps(bundle).encode(), "application/fhir+json", derive=True)
    if isinstance(judged, Response):
        return _cors(judged)
    prepared, violations, answer = judged
    if violations:
        if prepared.fhir is not None and prepared.fhir.fatal:
            return _cors(JSONResponse({"cards": []}))  # not a breast cancer patient: no advice
        maker = CardMaker({"knowledge_graph_version": state.get_reasoner().version}, _base(request), _page(request))
        listed = "\n".join(f"- `{v.field}`: {v.message}" for v in violations)
        cards = [
            maker.card("info", f"Breast cancer pathway not applied: {len(violations)} problem(s) in the record", listed)
        ]
    else:
        maker = CardMaker(answer, _base(request), _page(request))
        if service_id == PATIENT_VIEW:
            cards = maker.patient_view()
        else:
            drafted, unknown = _drafted(body)
            cards = maker.order_select(drafted) + maker.unrecognised_orders(unknown)
    get_feedback_store().issued(service_id, cards)
    return _cors(JSONResponse({"cards": cards}))  # every card is pruned where it is made (CardMaker.card)


@router.post(
    "/cds-services/{service_id}/feedback",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}, "example": EXAMPLE_FEEDBACK}}}
    },
    responses={
        200: {"description": "The feedback was stored", "content": {"application/json": {"example": {"stored": 1}}}},
        **BAD,
        **UNAUTHORIZED,
        **NOT_FOUND,
        **TOO_LARGE,
    },
)
async def feedback(service_id: str, request: Request) -> Response:
    """Store the CDS client's feedback on cards (accepted with the suggestions taken, or overridden)."""
    body = await _admitted(service_id, request)
    if isinstance(body, Response):
        return body
    try:
        items = check_feedback(body)
    except FeedbackError as exc:
        return _error(400, "bad_request", "the feedback is malformed", [{"field": exc.field, "message": exc.message}])
    stored = await run_in_threadpool(get_feedback_store().add, service_id, items)
    return _cors(JSONResponse({"stored": stored}))


@router.get(
    "/cds-services/{service_id}/feedback",
    responses={
        200: {
            "description": "Feedback counts per card and outcome",
            "content": {"application/json": {"example": {"service": PATIENT_VIEW, "counts": [EXAMPLE_COUNT]}}},
        },
        **NOT_FOUND,
    },
)
async def feedback_counts(service_id: str) -> Response:
    """Read-only: the feedback received per card and outcome."""
    if service_id not in SERVICES:
        return _error(404, "not_found", f"no CDS service {service_id!r}")
    counts = await run_in_threadpool(get_feedback_store().counts, service_id)
    return _cors(JSONResponse({"service": service_id, "counts": counts}))
