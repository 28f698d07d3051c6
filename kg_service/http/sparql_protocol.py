"""The SPARQL 1.1 Protocol endpoint: request parsing, refusals, content negotiation, execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from kg_service.http.negotiation import choose
from kg_service.http.sparql_workers import GRAPH_FORMATS, SELECT_FORMATS, Outcome, SparqlWorkers

SELECT_OFFER = list(SELECT_FORMATS)
GRAPH_OFFER = list(GRAPH_FORMATS)
FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri")


@dataclass
class ProtocolError(Exception):
    status: int
    error: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


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
    if any(k in fields for k in DATASET_PARAMETERS):  # GET, form POST and direct POST alike
        raise ProtocolError(
            400, "unsupported_dataset", "this endpoint serves one graph; dataset parameters are not accepted"
        )
    if method == "POST" and media == QUERY_TYPE:
        if "query" in fields:
            raise ProtocolError(400, "malformed_request", "a direct POST carries its query as the body only")
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
    return queries[0]


def execute(workers: SparqlWorkers, query: str, accept: str | None) -> Outcome:
    """Negotiate and run a query (the caller holds a place reserved on `workers`); raise ProtocolError for
    anything refused. The query is read (updates and SERVICE refused, by the parsed query) in the worker,
    under the query's time limit; the result format is chosen here for either form, and the worker takes the
    one its form needs."""
    if len(query) > 20_000:
        raise ProtocolError(400, "query_too_long", "the query is longer than 20,000 characters")
    # With no acceptable type, answer in the default format rather than 406 (RFC 9110 allows it): clients
    # such as rdflib's SPARQLStore ask for SPARQL results even for CONSTRUCT.
    select_media = choose(accept, SELECT_OFFER) or SELECT_OFFER[0]
    graph_media = choose(accept, GRAPH_OFFER) or GRAPH_OFFER[0]
    outcome = workers.run(query, select_media, graph_media)
    if not outcome.ok:
        raise ProtocolError(400, outcome.error, outcome.message)
    return outcome
