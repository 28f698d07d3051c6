"""The apps' surface: a patient in, the contract's answer (or its validation verdict) out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from kg_service.core.errors import BadRequest, InvalidPatient
from kg_service.http import state
from kg_service.http.openapi import ERROR_RESPONSES, ERROR_SCHEMA, EXAMPLE_ANSWER, EXAMPLE_INVALID, patient_body
from kg_service.http.responses import error, invalid_patient, read_body

router = APIRouter(tags=["patients"])


@router.post(
    "/v1/recommendations",
    openapi_extra=patient_body(),
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
    read = await read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        answer = await run_in_threadpool(state.get_reasoner().recommend, body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    except InvalidPatient as exc:
        return invalid_patient([v.as_dict() for v in exc.violations])
    return JSONResponse(answer)


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
    body, media = read
    try:
        verdict = await run_in_threadpool(state.get_reasoner().validate, body, media)
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    if not verdict["valid"]:
        return invalid_patient(verdict["violations"])
    return JSONResponse(verdict)
