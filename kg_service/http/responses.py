"""The one error shape every route answers with, and reading a bounded request body."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from kg_service.service import JSON_TYPES, RDF_TYPES

MAX_BODY_BYTES = 1_000_000
ACCEPTED_TYPES = sorted(JSON_TYPES | set(RDF_TYPES))


def error(status: int, code: str, message: str, violations: list[dict] | None = None) -> JSONResponse:
    body: dict = {"error": code, "message": message}
    if violations is not None:
        body["violations"] = violations
    return JSONResponse(status_code=status, content=body)


def invalid_patient(violations: list[dict]) -> JSONResponse:
    """The 422 both patient endpoints give: every violation, each naming its field."""
    return error(422, "invalid_patient", "the patient document is invalid or outside the pathway", violations)


async def read_body(request: Request, accept_any: bool = False) -> tuple[bytes, str] | JSONResponse:
    """The body (at most MAX_BODY_BYTES) and its media type, or the error response to send instead."""
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
