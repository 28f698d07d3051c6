"""The SPARQL 1.1 Protocol endpoint, over real HTTP: every result format, standard clients, and every
refusal (Update, LOAD, SERVICE, runaway queries, oversized results)."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import JSON, SPARQLWrapper

from kg_service import api
from kg_service.http import state

from .live_server import LiveServer

TRIALS = "SELECT ?trial ?nct WHERE { ?trial <https://w3id.org/mbc-kg/ontology#nctId> ?nct }"
CONSTRUCT = (
    "CONSTRUCT { ?t <https://w3id.org/mbc-kg/ontology#nctId> ?n } "
    "WHERE { ?t <https://w3id.org/mbc-kg/ontology#nctId> ?n }"
)
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def server(monkeypatch_module):
    monkeypatch_module.setenv("MBC_KG_SPARQL_TIMEOUT", "2")
    monkeypatch_module.setenv("MBC_KG_SPARQL_MAX_ROWS", "500")
    state.get_sparql_workers.cache_clear()
    with LiveServer(api.app) as live:
        yield live
    state.get_sparql_workers.cache_clear()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def sparql(server, query, accept=None, method="GET"):
    headers = {"accept": accept} if accept else {}
    if method == "GET":
        return httpx.get(f"{server.url}/sparql", params={"query": query}, headers=headers, timeout=60)
    return httpx.post(
        f"{server.url}/sparql",
        content=query,
        headers=headers | {"content-type": "application/sparql-query"},
        timeout=60,
    )


@pytest.mark.parametrize(
    "accept,rdflib_format",
    [
        ("application/sparql-results+json", "json"),
        ("application/sparql-results+xml", "xml"),
        ("text/csv", "csv"),
        ("text/tab-separated-values", "tsv"),
    ],
)
def test_select_in_every_result_format(server, accept, rdflib_format):
    response = sparql(server, TRIALS, accept)
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    result = Result.parse(io.BytesIO(response.content), format=rdflib_format)
    assert len(list(result)) == 18


@pytest.mark.parametrize(
    "accept,rdflib_format",
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
        ("application/ld+json", "json-ld"),
    ],
)
def test_construct_in_every_graph_format(server, accept, rdflib_format):
    response = sparql(server, CONSTRUCT, accept, method="POST")
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    assert len(Graph().parse(data=response.content, format=rdflib_format)) == 18


def test_form_post_and_ask(server):
    response = httpx.post(f"{server.url}/sparql", data={"query": "ASK { ?s ?p ?o }"}, timeout=60)
    assert response.status_code == 200 and response.json()["boolean"] is True


def test_standard_clients_work_unchanged(server):
    client = SPARQLWrapper(f"{server.url}/sparql")
    client.setQuery(TRIALS)
    client.setReturnFormat(JSON)
    assert len(client.query().convert()["results"]["bindings"]) == 18
    for return_format in ("json", "xml"):
        store = Graph(store=SPARQLStore(f"{server.url}/sparql", returnFormat=return_format))
        assert len(list(store.query(TRIALS))) == 18
        assert len(store.query(CONSTRUCT).graph) == 18


@pytest.mark.parametrize(
    "kind,request_kwargs",
    [
        (
            "update by content type",
            {"content": "INSERT DATA { <a:a> <a:b> <a:c> }", "headers": {"content-type": "application/sparql-update"}},
        ),
        ("update by form", {"data": {"update": "DROP ALL"}}),
        (
            "update as a query",
            {"content": "DELETE WHERE { ?s ?p ?o }", "headers": {"content-type": "application/sparql-query"}},
        ),
        (
            "load",
            {"content": "LOAD <http://127.0.0.1:9/data.ttl>", "headers": {"content-type": "application/sparql-query"}},
        ),
        (
            "service",
            {
                "content": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                "headers": {"content-type": "application/sparql-query"},
            },
        ),
    ],
)
def test_refusals_say_why(server, kind, request_kwargs):
    response = httpx.post(f"{server.url}/sparql", timeout=60, **request_kwargs)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] in ("update_refused", "query_refused")
    assert any(word in body["message"] for word in ("read-only", "never calls"))


def test_runaway_query_is_stopped_and_the_server_goes_on(server):
    started = time.monotonic()
    response = sparql(server, RUNAWAY)
    elapsed = time.monotonic() - started
    assert response.status_code == 400 and response.json()["error"] == "query_timeout"
    assert elapsed < 2 + 5  # the limit plus the time to stop the worker
    follow_up = sparql(server, "ASK { ?s ?p ?o }")
    assert follow_up.status_code == 200 and follow_up.json()["boolean"] is True


def test_oversized_result_is_refused(server):
    response = sparql(server, "SELECT * WHERE { ?s ?p ?o }")
    assert response.status_code == 400 and response.json()["error"] == "result_too_large"


def test_malformed_query_and_default_formats(server):
    assert sparql(server, "SELEKT nothing").json()["error"] == "malformed_query"
    fallback = sparql(server, CONSTRUCT, accept="application/sparql-results+json")
    assert fallback.status_code == 200 and fallback.headers["content-type"].startswith("text/turtle")
    response = httpx.get(f"{server.url}/sparql", timeout=60)
    assert response.status_code == 400 and "query" in response.json()["message"]


def test_every_answer_is_stamped_with_the_graph_version(server):
    response = sparql(server, TRIALS)
    assert (
        response.headers["x-knowledge-graph-version"]
        == json.loads(httpx.get(f"{server.url}/health", timeout=60).text)["knowledge_graph_version"]
    )
