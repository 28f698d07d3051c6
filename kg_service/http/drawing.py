"""The pathway as a picture for apps: `GET /v1/pathway.svg` (the bare pathway) and `POST /v1/pathway.svg`
(one patient's way through it, from the same body as `POST /v1/recommendations`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from kg_service.drawing.pathway import DrawingUnavailable, PathwayDrawer, titles
from kg_service.http import state
from kg_service.http.openapi import ERROR_RESPONSES, ERROR_SCHEMA, patient_body
from kg_service.http.recommendations import OVERLOADED, _judge
from kg_service.http.responses import error, invalid_patient, read_body
from kg_service.service import Reasoner

log = logging.getLogger("kg_service.http.drawing")
router = APIRouter(tags=["pathway"])
SVG = "image/svg+xml"
PICTURE = {
    "description": "The pathway laid out by Graphviz: one SVG node per step (class `step`, `treatment` or "
    "`decision`, `status-*`, `line-n`; attributes `data-step`, `data-status`, `data-lines`) and one edge per "
    "link (class `link`, `lit` on her way; `data-source`, `data-target`)",
    "content": {SVG: {"schema": {"type": "string"}}},
}
UNAVAILABLE = {
    503: {
        "description": "Graphviz is not installed on the server, or failed",
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
}


@state.per_reasoner
def get_drawer(reasoner: Reasoner) -> PathwayDrawer:
    """The pathway read from the reasoner's graph once (prepared at start-up)."""
    return PathwayDrawer(reasoner.store)


def prepare() -> None:
    """Read the pathway for drawing at start-up; a graph that cannot be drawn is logged here, and each drawing
    request answers 503 saying why."""
    try:
        get_drawer()
    except DrawingUnavailable as exc:
        log.warning("the pathway cannot be drawn: %s", exc)


@state.per_reasoner
def bare_picture(reasoner: Reasoner) -> bytes:
    """The bare pathway's SVG, laid out once, on first use."""
    return get_drawer().draw(None, "svg", *titles(None, reasoner.version))


def _svg(content: bytes) -> Response:
    return Response(content, media_type=SVG, headers=state.version_headers())


@router.get("/v1/pathway.svg", responses={200: PICTURE, **UNAVAILABLE})
async def bare_pathway() -> Response:
    """The bare pathway: every step and link of the graph, no patient."""
    try:
        return _svg(await run_in_threadpool(bare_picture))
    except DrawingUnavailable as exc:
        return error(503, "drawing_unavailable", str(exc))


def _draw(answer: dict) -> bytes:
    return get_drawer().draw(answer, "svg", *titles(answer, state.get_reasoner().version))


# one 503, two causes: the batcher's queue bound (error "overloaded", with Retry-After) or a drawing that
# cannot be made (error "drawing_unavailable", without)
BUSY_OR_UNAVAILABLE = {
    503: {
        "description": "More requests are waiting than the queue allows (MBC_KG_QUEUE_MAX; error `overloaded`, "
        "retry after `Retry-After`), or the picture cannot be drawn (error `drawing_unavailable`: Graphviz is "
        "not installed or failed, or the answer names a step the graph does not hold)",
        "headers": OVERLOADED[503]["headers"],
        "content": OVERLOADED[503]["content"],
    }
}


@router.post(
    "/v1/pathway.svg",
    openapi_extra=patient_body(),
    responses={200: PICTURE, **ERROR_RESPONSES, **BUSY_OR_UNAVAILABLE},
)
async def patient_pathway(request: Request) -> Response:
    """One patient's pathway: each treatment step by her best status (with a legend, marks and words, not by
    colour alone), her metastatic lines at their steps, and her way from the entry to the next steps lit.
    The patient is judged in the same batches as `POST /v1/recommendations` (503 past the queue bound)."""
    read = await read_body(request)
    if isinstance(read, JSONResponse):
        return read
    judged = await _judge(*read, derive=True)
    if isinstance(judged, JSONResponse):
        return judged  # 400 for a body that is no patient, 503 with Retry-After when the queue is full
    _, violations, answer = judged
    if violations:
        return invalid_patient([v.as_dict() for v in violations])
    try:
        return _svg(await run_in_threadpool(_draw, answer))
    except DrawingUnavailable as exc:
        log.warning("pathway drawing unavailable: %s", exc)
        return error(503, "drawing_unavailable", str(exc))
