"""The pathway as a picture for apps: `GET /v1/pathway.svg` (the bare pathway) and `POST /v1/pathway.svg`
(one patient's way through it, from the same body as `POST /v1/recommendations`)."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from kg_service.core.errors import BadRequest, InvalidPatient
from kg_service.drawing.pathway import DrawingUnavailable, PathwayDrawer, titles
from kg_service.http import state
from kg_service.http.openapi import ERROR_RESPONSES, ERROR_SCHEMA, patient_body
from kg_service.http.responses import error, invalid_patient, read_body

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
        "description": "Graphviz is not installed on the server",
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
}


@lru_cache(maxsize=1)
def get_drawer() -> PathwayDrawer:
    return PathwayDrawer(state.get_reasoner().store)


@lru_cache(maxsize=1)
def bare_picture() -> bytes:
    return get_drawer().draw(None, "svg", *titles(None, state.get_reasoner().version))


def _svg(content: bytes) -> Response:
    return Response(content, media_type=SVG, headers=state.version_headers())


@router.get("/v1/pathway.svg", responses={200: PICTURE, **UNAVAILABLE})
async def bare_pathway() -> Response:
    """The bare pathway: every step and link of the graph, no patient."""
    try:
        return _svg(await run_in_threadpool(bare_picture))
    except DrawingUnavailable as exc:
        return error(503, "drawing_unavailable", str(exc))


def _draw(body: bytes, media: str) -> bytes:
    answer = state.get_reasoner().recommend(body, media)
    return get_drawer().draw(answer, "svg", *titles(answer, state.get_reasoner().version))


@router.post(
    "/v1/pathway.svg", openapi_extra=patient_body(), responses={200: PICTURE, **ERROR_RESPONSES, **UNAVAILABLE}
)
async def patient_pathway(request: Request) -> Response:
    """One patient's pathway: each treatment step by her best status (with a legend, marks and words, not by
    colour alone), her metastatic lines at their steps, and her way from the entry to the next steps lit."""
    read = await read_body(request)
    if isinstance(read, JSONResponse):
        return read
    body, media = read
    try:
        return _svg(await run_in_threadpool(_draw, body, media))
    except BadRequest as exc:
        return error(400, "bad_request", str(exc))
    except InvalidPatient as exc:
        return invalid_patient([v.as_dict() for v in exc.violations])
    except DrawingUnavailable as exc:
        return error(503, "drawing_unavailable", str(exc))
