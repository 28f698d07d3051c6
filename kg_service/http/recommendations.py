"""The apps' surface: a patient in, the contract's answer (or its validation verdict) out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from kg_service.core.errors import BadRequest
from kg_service.http import state
from kg_service.http.batching import QueueFull, get_batcher
from kg_service.http.openapi import ERROR_RESPONSES, ERROR_SCHEMA, EXAMPLE_ANSWER, EXAMPLE_INVALID, patient_body
from kg_service.http.responses import AnswerResponse, error, invalid_patient, read_body
from kg_service.service import verdict

router = APIRouter(tags=["patients"])

OVERLOADED = {
    503: {
        "description": "More requests are waiting than the queue allows (MBC_KG_QUEUE_MAX); retry after `Retry-After`",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
}


async def _judge(body: bytes, media: str, derive: bool):
    """Parse on a pool thread, then judge in the next batch (kg_service/http/batching.py): the parsed
    patient, its violations and its answer (None when invalid or not derived), or the error response to
    send (400 for a body that is no patient, 503 when the queue is full)."""
    try:
        parsed = await run_in_threadpool(state.get_reasoner().parse, body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    try:
        violations, answer = await get_batcher().judge(*parsed, derive=derive)
    except QueueFull as exc:
        response = error(503, "overloaded", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return parsed[0], violations, answer


@router.post(
    "/v1/recommendations",
    openapi_extra=patient_body(),
    responses={
        200: {
            "description": "Every option of the pathway with its status",
            "content": {"application/json": {"example": EXAMPLE_ANSWER}},
        },
        **ERROR_RESPONSES,
        **OVERLOADED,
        422: {
            "description": "The patient is invalid or outside the pathway; every violation is listed",
            "content": {"application/json": {"schema": ERROR_SCHEMA, "example": EXAMPLE_INVALID}},
        },
    },
)
async def recommendations(request: Request) -> JSONResponse:
    """Every (step, regimen) option of the pathway for one patient, with status, reasons, missing data and evidence."""
    read = await read_body(request)
    if isinstance(read, JSONResponse):
        return read
    judged = await _judge(*read, derive=True)
    if isinstance(judged, JSONResponse):
        return judged
    _, violations, answer = judged
    if violations:
        return invalid_patient([v.as_dict() for v in violations])
    return AnswerResponse(answer)


@router.post(
    "/v1/validate",
    openapi_extra=patient_body(),
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
        **OVERLOADED,
        422: {
            "description": "Every violation, by field",
            "content": {"application/json": {"schema": ERROR_SCHEMA, "example": EXAMPLE_INVALID}},
        },
    },
)
async def validate(request: Request) -> JSONResponse:
    """Validate a patient document against the patient shapes without deriving anything."""
    read = await read_body(request)
    if isinstance(read, JSONResponse):
        return read
    judged = await _judge(*read, derive=False)
    if isinstance(judged, JSONResponse):
        return judged
    prepared, violations, _ = judged
    if violations:
        return invalid_patient([v.as_dict() for v in violations])
    return AnswerResponse(verdict(prepared, violations))
