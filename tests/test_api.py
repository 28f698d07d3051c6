"""The HTTP API: the contract's answer, the contract's error codes, one error shape, never a 500."""

from __future__ import annotations

import json

import pytest

from kg_service.http.responses import MAX_BODY_BYTES
from kg_service.service import Reasoner

from .conftest import ROOT

EXAMPLE = json.loads((ROOT / "examples" / "patient-esr1-after-cdk46.json").read_text())


def test_recommendations_answer_has_the_contract_fields(client):
    response = client.post("/v1/recommendations", json=EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert body["patient_id"] == "pt-0001" and body["knowledge_graph_version"]
    assert set(body["assessment"]) >= {"endocrine_sensitivity", "her2_category", "metastatic_lines"}
    option = body["options"][0]
    assert set(option) >= {"status", "step", "regimen", "reasons", "missing", "evidence"}
    assert set(option["regimen"]) >= {"id", "label", "drugs"} and set(option["step"]) >= {"id", "label"}
    elacestrant = next(o for o in body["options"] if o["regimen"]["label"] == "Elacestrant")
    assert elacestrant["status"] == "recommended"
    assert {"label": "EMERALD", "nct": "NCT03778931"}.items() <= next(
        e for e in elacestrant["evidence"] if e.get("nct")
    ).items()


def test_validate_endpoint(client):
    assert client.post("/v1/validate", json=EXAMPLE).json()["valid"] is True
    response = client.post("/v1/validate", json=dict(EXAMPLE, er="negative"))
    assert response.status_code == 422
    assert response.json()["violations"][0]["field"] == "er"


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"", "application/json"),
        (b"this is not json", "application/json"),
        (b'{"id": ', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"<not> turtle at all", "text/turtle"),
        (b'{"@context": "https://example.org/context.jsonld", "@id": "x"}', "application/ld+json"),
        (b'[{":\\u001f": false}]', "application/ld+json"),  # schemathesis: an IRI with a control character
        (b'[{":\\"": false}]', "application/ld+json"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/recommendations", "/v1/validate"])
def test_not_a_patient_document_is_400(client, body, content_type, path):
    response = client.post(path, content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert set(response.json()) >= {"error", "message"}


@pytest.mark.parametrize(
    "body,content_type", [('[{"@id": "x", "@type": "y"}]', "application/ld+json"), ("<x> a <y> .", "text/turtle")]
)
def test_relative_iris_do_not_resolve_against_the_server_directory(reasoner, body, content_type):
    prepared, _ = reasoner.parse(body, content_type)
    iris = {str(term) for triple in prepared.graph for term in triple}
    assert "https://w3id.org/mbc-kg/input/x" in iris
    assert not any(iri.startswith("file:") for iri in iris)


@pytest.mark.parametrize(
    "document,field",
    [
        (dict(EXAMPLE, er="negative"), "er"),
        (dict(EXAMPLE, her2={"ihc": "3+"}), "her2.ihc"),
        (dict(EXAMPLE, her2={"ihc": "2+", "ish": "positive"}), "her2.ish"),
        (dict(EXAMPLE, stage="early"), "stage"),
        (
            dict(
                EXAMPLE,
                therapies=[{"setting": "metastatic", "line": 1, "drugs": ["notadrug"], "start_date": "2025-03-01"}],
            ),
            "therapies[0].drugs",
        ),
        (dict(EXAMPLE, metastatic_diagnosis_date="2099-01-01"), "metastatic_diagnosis_date"),
        ([], "(document)"),
        ("a string", "(document)"),
        (42, "(document)"),
    ],
)
def test_invalid_or_out_of_pathway_is_422_naming_the_field(client, document, field):
    response = client.post("/v1/recommendations", json=document)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_patient"
    assert field in {v["field"] for v in body["violations"]}


def test_unsupported_media_type_is_415(client):
    response = client.post("/v1/recommendations", content=b"id=1", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"


def test_body_limit_is_413(client):
    response = client.post(
        "/v1/recommendations", content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_patient_as_turtle(client):
    turtle = (ROOT / "examples" / "patient-esr1-after-cdk46.ttl").read_text()
    response = client.post("/v1/recommendations", content=turtle, headers={"content-type": "text/turtle"})
    assert response.status_code == 200, response.json()
    statuses = {o["regimen"]["label"]: o["status"] for o in response.json()["options"]}
    assert statuses["Elacestrant"] == "recommended"


ILL_TYPED_DATE = (
    (ROOT / "examples" / "patient-esr1-after-cdk46.ttl")
    .read_text()
    .replace('mbc:metastaticDiagnosisDate "2025-02-10"^^xsd:date', 'mbc:metastaticDiagnosisDate "2026-13-45"^^xsd:date')
)


def test_an_ill_typed_rdf_date_is_a_violation_naming_it_not_a_500(client):
    assert "2026-13-45" in ILL_TYPED_DATE
    response = client.post("/v1/recommendations", content=ILL_TYPED_DATE, headers={"content-type": "text/turtle"})
    assert response.status_code == 422, response.json()
    messages = [v["message"] for v in response.json()["violations"] if v["field"].endswith("metastatic_diagnosis_date")]
    assert any(m.startswith("must be a valid date") and "2026-13-45" in m for m in messages), messages


def test_an_ill_typed_literal_is_refused_even_where_a_string_would_do(reasoner):
    # as a plain string it would pass the shape of mbc:variant (text); its datatype says it is an integer
    turtle = (ROOT / "examples" / "patient-esr1-after-cdk46.ttl").read_text()
    bad = turtle.replace('mbc:variant "p.Y537S"', 'mbc:variant "p.Y537S"^^xsd:integer', 1)
    assert bad != turtle
    verdict = reasoner.validate(bad, "text/turtle")
    assert not verdict["valid"]
    assert [v["message"] for v in verdict["violations"]] == ["is not a valid xsd:integer literal (got 'p.Y537S')"]
    assert verdict["violations"][0]["field"].endswith(".variant")


def test_both_validators_judge_an_ill_typed_rdf_date_alike(reasoner):
    # pySHACL failed comparing the ill-typed literal (a TypeError); Oxigraph did not see it as ill-typed
    reference = Reasoner(graph=reasoner.graph, sparql_endpoint="", validator="pyshacl", threads=1)
    compiled = reasoner.validate(ILL_TYPED_DATE, "text/turtle")
    assert not compiled["valid"]
    assert reference.validate(ILL_TYPED_DATE, "text/turtle")["violations"] == compiled["violations"]


def test_openapi_and_health(client):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/health").json()["status"] == "ok"
