"""The same reasoning on an external SPARQL engine (Oxigraph server, over the SPARQL 1.1 protocol): every
vignette and every invalid document gets exactly the answer the embedded store gives.

The server is the one named by MBC_KG_SPARQL_ENDPOINT (.ci/run starts one), or else one this test starts
from the `oxigraph` command (PyPI package `oxigraph`); without either the test is skipped."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from kg_service.core.errors import InvalidPatient
from kg_service.service import Reasoner
from kg_service.store.remote import RemoteStore

from .conftest import TODAY, load_json
from .test_patient_validation import CASES
from .test_vignettes import VIGNETTES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(graph):
    url = os.environ.get("MBC_KG_SPARQL_ENDPOINT")
    process = None
    if not url:
        if shutil.which("oxigraph") is None:
            pytest.skip("no external SPARQL engine: set MBC_KG_SPARQL_ENDPOINT or install the oxigraph command")
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            ["oxigraph", "serve", "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    process.kill()
                    pytest.fail("oxigraph serve did not start")
                time.sleep(0.1)
    RemoteStore(url).load_graph(graph)
    yield url
    if process is not None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def remote(graph, endpoint):
    return Reasoner(graph=graph, sparql_endpoint=endpoint)


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_identical_answers(reasoner, remote, path):
    case = load_json(path)
    today = dt.date.fromisoformat(case.get("today", "2026-11-25"))
    assert remote.recommend(case["patient"], today=today) == reasoner.recommend(case["patient"], today=today)


@pytest.mark.parametrize("case,document,field,words", CASES, ids=[c[0] for c in CASES])
def test_identical_violations(reasoner, remote, case, document, field, words):
    with pytest.raises(InvalidPatient) as on_remote:
        remote.recommend(document, today=TODAY)
    with pytest.raises(InvalidPatient) as embedded:
        reasoner.recommend(document, today=TODAY)
    assert on_remote.value.violations == embedded.value.violations


def test_patient_graphs_are_removed(remote, endpoint):
    before = RemoteStore(endpoint).count()
    remote.recommend(load_json(VIGNETTES[0])["patient"], today=TODAY)
    response = httpx.post(
        f"{endpoint}/query",
        data={"query": "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"accept": "application/sparql-results+json"},
    )
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == 1  # only the knowledge graph
    assert RemoteStore(endpoint).count() == before
