"""The SPARQL 1.1 Protocol endpoint: request parsing, refusals, content negotiation, execution."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from kg_service.http.negotiation import choose
from kg_service.http.sparql_guard import RefusedQuery, check_query, query_form
from kg_service.http.sparql_workers import GRAPH_FORMATS, SELECT_FORMATS, Outcome, SparqlWorkers

SELECT_OFFER = list(SELECT_FORMATS)
GRAPH_OFFER = list(GRAPH_FORMATS)
FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"


@dataclass
class ProtocolError(Exception):
    status: int
    error: str
    message: str


def query_from_request(method: str, params: dict[str, list[str]], content_type: str, body: bytes) -> str:
    """The query text of a SPARQL Protocol request (GET ?query=, POST form, POST sparql-query)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if method == "POST" and media == UPDATE_TYPE:
        raise ProtocolError(400, "update_refused", "SPARQL Update is refused: this endpoint is read-only")
    fields = dict(params)
    if method == "POST" and media == FORM_TYPE:
        try:
            fields.update(parse_qs(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ProtocolError(400, "malformed_request", "the form body is not UTF-8") from exc
    if "update" in fields:
        raise ProtocolError(400, "update_refused", "SPARQL Update is refused: this endpoint is read-only")
    if method == "POST" and media == QUERY_TYPE:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(400, "malformed_request", "the query is not UTF-8 text") from exc
    if method == "POST" and media not in (FORM_TYPE, QUERY_TYPE, ""):
        raise ProtocolError(
            415, "unsupported_media_type", f"POST a query as {QUERY_TYPE} or as a {FORM_TYPE} form with a 'query' field"
        )
    queries = fields.get("query", [])
    if len(queries) != 1:
        raise ProtocolError(400, "malformed_request", "give exactly one 'query' parameter")
    if any(k in fields for k in ("default-graph-uri", "named-graph-uri")):
        raise ProtocolError(
            400, "unsupported_dataset", "this endpoint serves one graph; dataset parameters are not accepted"
        )
    return queries[0]


def execute(workers: SparqlWorkers, query: str, accept: str | None) -> Outcome:
    """Check, negotiate and run a query; raise ProtocolError for anything refused."""
    if len(query) > 20_000:
        raise ProtocolError(400, "query_too_long", "the query is longer than 20,000 characters")
    try:
        check_query(query)
    except RefusedQuery as exc:
        raise ProtocolError(400, "query_refused", str(exc)) from exc
    try:
        form = query_form(query)
    except RefusedQuery as exc:
        raise ProtocolError(400, "malformed_query", f"the query is not valid SPARQL 1.1: {exc}") from exc
    offer = SELECT_OFFER if form in ("SELECT", "ASK") else GRAPH_OFFER
    # With no acceptable type, answer in the default format rather than 406 (RFC 9110 allows it): clients
    # such as rdflib's SPARQLStore ask for SPARQL results even for CONSTRUCT.
    media_type = choose(accept, offer) or offer[0]
    outcome = workers.run(query, form, media_type)
    if not outcome.ok:
        raise ProtocolError(400, outcome.error, outcome.message)
    return outcome
