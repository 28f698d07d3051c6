"""The one error shape every route answers with, and reading a bounded request body."""

from __future__ import annotations

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse

from kg_service.service import JSON_TYPES, RDF_TYPES

MAX_BODY_BYTES = 1_000_000
ACCEPTED_TYPES = sorted(JSON_TYPES | set(RDF_TYPES))


class AnswerResponse(JSONResponse):
    """A patient's answer or verdict, encoded by orjson: the same bytes as JSONResponse's json.dumps (compact,
    UTF-8, keys in order) in a tenth of the time (0.06 against 0.52 ms an answer of 27 options), time that held
    the interpreter's lock on the event loop's thread, which every request shares: under 16 clients it was
    the largest single holder of the lock (py-spy --gil). orjson would write NaN as null where json.dumps
    refuses it; an answer holds no number but whole ones (reasoning/answer.py builds it from strings, integers,
    booleans and None), which tests/test_http_responses.py checks over the vignettes and a synthetic cohort."""

    def render(self, content) -> bytes:
        return orjson.dumps(content)


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
