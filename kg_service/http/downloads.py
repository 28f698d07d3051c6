"""The graph and the OWL vocabulary for download, by content negotiation, stamped with the graph version."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kg_service.graph.export import MEDIA_TYPES
from kg_service.http import state
from kg_service.http.negotiation import choose
from kg_service.http.openapi import ERROR_RESPONSES, schema_for
from kg_service.http.responses import error

router = APIRouter(tags=["graph"])
RDF_OFFER = list(MEDIA_TYPES)
RDF_CONTENT = {media: schema_for(media) for media in RDF_OFFER}


def _download(which: str, request: Request) -> Response:
    media_type = choose(request.headers.get("accept"), RDF_OFFER)
    if media_type is None:
        return error(406, "not_acceptable", f"available as: {', '.join(RDF_OFFER)}")
    body = state.get_exporter().serialize(which, media_type)
    extension = MEDIA_TYPES[media_type][1]
    headers = state.version_headers() | {
        "Content-Disposition": f'inline; filename="mbc-kg-{which}.{extension}"',
        "Vary": "Accept",
    }
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/ontology",
    responses={
        200: {"description": "The OWL vocabulary", "content": RDF_CONTENT},
        406: ERROR_RESPONSES[415] | {"description": "No acceptable format"},
    },
)
async def ontology(request: Request) -> Response:
    """The OWL 2 vocabulary (opens in Protégé), by content negotiation: Turtle, RDF/XML, JSON-LD, N-Triples."""
    return _download("ontology", request)


@router.get(
    "/graph",
    responses={
        200: {"description": "The whole knowledge graph", "content": RDF_CONTENT},
        406: ERROR_RESPONSES[415] | {"description": "No acceptable format"},
    },
)
async def whole_graph(request: Request) -> Response:
    """Vocabulary, pathway, criteria, regimens, drugs, evidence and mappings, by content negotiation."""
    return _download("graph", request)
