"""The SPARQL 1.1 Protocol endpoint (read-only) over the knowledge graph: GET, form POST and direct POST."""

from __future__ import annotations

import anyio
from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from kg_service.http import state
from kg_service.http.downloads import RDF_OFFER
from kg_service.http.openapi import ERROR_RESPONSES, ERROR_SCHEMA, schema_for
from kg_service.http.responses import error, read_body
from kg_service.http.sparql_protocol import ProtocolError, execute, query_from_request

router = APIRouter(tags=["sparql"])

SPARQL_EXAMPLE = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?step ?label WHERE { ?step a <https://w3id.org/mbc-kg/ontology#TreatmentStep> ; rdfs:label ?label }"
)
SPARQL_RESULTS = {
    media: schema_for(media)
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
    503: {
        "description": "Every query worker is busy and the queue is full: retry after the seconds in Retry-After",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    },
}
_limiter: anyio.CapacityLimiter | None = None


def sparql_limiter() -> anyio.CapacityLimiter:
    """The threads that wait on SPARQL workers: a pool of their own, as large as the workers and their queue,
    so that queries never take the threads that recommendations run on (anyio's default pool)."""
    global _limiter
    capacity = state.get_sparql_workers().capacity
    if _limiter is None or _limiter.total_tokens != capacity:
        _limiter = anyio.CapacityLimiter(capacity)
    return _limiter


async def _sparql(request: Request) -> Response:
    body = b""
    if request.method == "POST":
        read = await read_body(request, accept_any=True)
        if isinstance(read, JSONResponse):
            return read
        body = read[0]
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        query = query_from_request(request.method, params, request.headers.get("content-type", ""), body)
        workers = state.get_sparql_workers()
        if not workers.reserve():  # every worker busy and the queue full: say so now, do not wait
            raise ProtocolError(503, "busy", workers.busy_message(), {"Retry-After": str(workers.retry_after())})
        try:
            outcome = await to_thread.run_sync(
                execute, workers, query, request.headers.get("accept"), limiter=sparql_limiter()
            )
        finally:
            workers.release()
    except ProtocolError as exc:
        response = error(exc.status, exc.error, exc.message)
        response.headers.update(exc.headers)
        return response
    return Response(outcome.body, media_type=outcome.media_type, headers=state.version_headers() | {"Vary": "Accept"})


@router.get("/sparql", responses=SPARQL_RESPONSES)
async def sparql_get(
    request: Request, query: str | None = Query(None, description="The SPARQL 1.1 query", examples=[SPARQL_EXAMPLE])
) -> Response:
    """SPARQL 1.1 Protocol query via GET. Read-only: Update, LOAD and SERVICE are refused; every query runs
    under a time limit and a result-size limit. The result format follows `Accept`."""
    return await _sparql(request)


@router.post(
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
