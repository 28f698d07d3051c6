"""Issue 14, item 1: no JSON-LD input causes any network access. A listener on 127.0.0.1 stands in for the
remote server; every way JSON-LD can name a remote document (`@import`, a remote `@context` string, a nested
or scoped context, an `@context` array, a relative context resolved against the base) is sent through the
API and through rdflib directly, and the listener must receive nothing. The refusal is a document loader that
refuses everything (kg_service.patient.jsonld_loader), not an inspection of the JSON."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from rdflib import Graph

from kg_service.core.errors import BadRequest

from .conftest import TODAY


@pytest.fixture()
def listener():
    """A TCP listener on a free loopback port that records every connection it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                received.append(conn.recv(4096) or b"(connected)")
            except OSError:
                received.append(b"(connected)")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", received
    stop.set()
    thread.join()
    server.close()


def documents(base: str) -> dict[str, dict]:
    ctx = f"{base}/ctx.jsonld"
    mbc = "https://w3id.org/mbc-kg/ontology#"
    patient = {"@id": "urn:p", "@type": f"{mbc}Patient"}
    return {
        "import": {"@context": {"@version": 1.1, "@import": ctx}, **patient},
        "remote string": {"@context": ctx, **patient},
        "array": {"@context": [{"mbc": mbc}, ctx], **patient},
        "nested array": {"@context": [[ctx]], **patient},
        "nested node": {"@context": {"mbc": mbc}, **patient, f"{mbc}hasHER2Result": {"@context": ctx, "@id": "urn:h"}},
        "scoped": {
            "@context": {"@version": 1.1, "r": {"@id": f"{mbc}hasHER2Result", "@context": ctx}},
            **patient,
            "r": {"@id": "urn:h"},
        },
        "graph": {"@context": {"mbc": mbc}, "@graph": [{"@context": ctx, **patient}]},
        "import in array": {"@context": [{"@version": 1.1, "@import": ctx}], **patient},
        "relative": {"@context": {"@version": 1.1, "@import": "ctx.jsonld"}, **patient},
    }


@pytest.mark.parametrize("name", list(documents("http://x")))
def test_api_never_fetches(listener, client, name):
    base, received = listener
    body = json.dumps(documents(base)[name])
    response = client.post("/v1/recommendations", content=body, headers={"content-type": "application/ld+json"})
    assert received == []
    assert response.status_code == 400, response.text
    assert "remote" in response.json()["message"] and "fetched" in response.json()["message"]


@pytest.mark.parametrize("name", list(documents("http://x")))
def test_reasoner_and_rdflib_never_fetch(listener, reasoner, name):
    base, received = listener
    body = json.dumps(documents(base)[name])
    with pytest.raises(BadRequest, match="nothing is ever fetched"):
        reasoner.recommend(body.encode(), "application/ld+json", today=TODAY)
    with pytest.raises(Exception, match="nothing is ever fetched"):  # rdflib itself, anywhere in the process
        Graph().parse(data=body, format="json-ld", publicID=f"{base}/base/")
    assert received == []


def test_an_embedded_context_still_works(reasoner):
    mbc = "https://w3id.org/mbc-kg/ontology#"
    document = {"@context": {"@version": 1.1, "mbc": mbc}, "@id": "urn:p", "@type": "mbc:Patient"}
    verdict = reasoner.validate(json.dumps(document).encode(), "application/ld+json", today=TODAY)
    assert verdict["valid"] is False  # parsed: judged by the shapes (no id, stage, er, her2), not refused
    assert all("fetched" not in v["message"] for v in verdict["violations"])
