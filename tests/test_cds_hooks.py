"""CDS Hooks 2.0 service (issue 15): discovery, patient-view (prefetch and FHIR-server paths), order-select,
feedback and its counts, 412, CORS and the JWT path, each checked against the specification's own rules
(cds-hooks/docs docs/specification/current.md, as summarised in docs/reference/fhir-mcode-cds-hooks.md §2).

The FHIR-server path runs against a minimal FHIR search server started here on 127.0.0.1 (port 0): it
answers the read and `Type?patient=` searches over the fixture bundles with paging (`_count`, `next` links),
so the client code under test is the real one."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kg_service.cds import prefetch as prefetch_module
from kg_service.cds.security import TokenVerifier
from kg_service.cds.services import ORDER_SELECT, PATIENT_VIEW, PREFETCH
from kg_service.http import cds_hooks

from .conftest import ROOT, serving

FIXTURES = ROOT / "tests" / "fixtures" / "fhir"
KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "Observation": "observations",
    "Specimen": "specimens",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationAdministration": "medicationAdministrations",
}
INDICATORS = {"info", "warning", "critical"}
NOW = "2026-12-01T10:00:00Z"


def resources(name: str) -> list[dict]:
    bundle = json.loads((FIXTURES / name).read_text())
    return [e["resource"] for e in bundle["entry"]]


def prefetch_of(name: str) -> dict:
    """What a CDS client's prefetch holds for a fixture patient: the Patient, and a searchset per search."""
    out: dict = {key: None for key in PREFETCH}
    for resource in resources(name):
        key = KEYS.get(resource["resourceType"])
        if key == "patient":
            out["patient"] = resource
        elif key:
            out[key] = out[key] or {"resourceType": "Bundle", "type": "searchset", "entry": []}
            out[key]["entry"].append({"resource": resource})
    return out


def request(hook: str, patient: str, **extra) -> dict:
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient, **extra.pop("context", {})},
        **extra,
    }


def assert_no_empty_optionals(value, path="$"):
    """CDS Hooks JSON rule: no null, "", [] or {} anywhere (the response's own `cards: []` aside)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert item not in (None, "", [], {}), f"{path}.{key} is empty"
            assert_no_empty_optionals(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_empty_optionals(item, f"{path}[{index}]")


def assert_card_shape(card: dict):
    """CDS Hooks 2.0 §Card attributes."""
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    assert isinstance(card["source"]["label"], str) and card["source"]["label"]
    uuid.UUID(card["uuid"])
    assert isinstance(card.get("detail", ""), str)
    if "suggestions" in card:
        assert card["selectionBehavior"] in ("at-most-one", "any")
        for suggestion in card["suggestions"]:
            assert suggestion["label"]
            for action in suggestion.get("actions", []):
                assert action["type"] in ("create", "update", "delete") and action["description"]
                if action["type"] in ("create", "update"):
                    assert action["resource"]["resourceType"]
                else:
                    assert action["resourceId"]
    for link in card.get("links", []):
        assert link["label"] and link["url"] and link["type"] in ("absolute", "smart")
    assert_no_empty_optionals(card)


@pytest.fixture(scope="module")
def client(reasoner):
    with serving(reasoner, caches=[cds_hooks.get_regimens], raise_server_exceptions=True) as test_client:
        yield test_client


# ---------------------------------------------------------------- discovery, patient-view, 412, CORS


def test_discovery_lists_both_services_with_prefetch(client):
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-select"}
    for service in services:
        assert service["id"] and service["description"] and service["hook"]
        assert all(isinstance(q, str) and "{{context.patientId}}" in q for q in service["prefetch"].values())
        assert_no_empty_optionals(service)
    assert response.headers["access-control-allow-origin"] == "*"


def test_preflight_allows_browser_clients(client):
    response = client.options(
        f"/cds-services/{PATIENT_VIEW}",
        headers={"Origin": "https://sandbox.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert "Authorization" in response.headers["access-control-allow-headers"]


def test_patient_view_with_prefetch(client, reasoner):
    body = request("patient-view", "relapsed-1", prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"))
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    cards = response.json()["cards"]
    for card in cards:
        assert_card_shape(card)
    answer = reasoner.recommend((FIXTURES / "relapsed-esr1-plasma.patient.json").read_bytes())
    recommended = {o["regimen"]["label"] for o in answer["options"] if o["status"] == "recommended"}
    info = [c for c in cards if c["indicator"] == "info"]
    assert any("NCT" in c["detail"] for c in info)
    assert all(answer["knowledge_graph_version"] in c["source"]["label"] for c in cards)
    assert all(c["links"][0]["url"] == "http://testserver/" for c in cards)  # the clinician's page
    reading = [c for c in cards if c["summary"].startswith("How the record was read")]
    assert len(reading) == 1 and "line 1 rebuilt from MedicationStatement/l1-letrozole" in reading[0]["detail"]
    info = [c for c in info if c not in reading]
    assert {c["summary"].split(": ", 1)[1].rsplit(" (", 1)[0] for c in info} == recommended
    warnings = [c for c in cards if c["indicator"] == "warning"]
    missing = {m for o in answer["options"] if o["status"] == "undetermined" for m in o["missing"]}
    assert {c["summary"].split(": ", 1)[1] for c in warnings} == missing


def test_no_prefetch_and_no_fhir_server_is_412(client):
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=request("patient-view", "relapsed-1"))
    assert response.status_code == 412
    partial = prefetch_of("relapsed-esr1-plasma.bundle.json")
    del partial["medicationStatements"]  # a client may leave out keys it could not fill
    response = client.post(
        f"/cds-services/{PATIENT_VIEW}", json=request("patient-view", "relapsed-1", prefetch=partial)
    )
    assert response.status_code == 412 and "medicationStatements" in response.json()["message"]
    failed = prefetch_of("relapsed-esr1-plasma.bundle.json")
    failed["observations"] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=request("patient-view", "relapsed-1", prefetch=failed))
    assert response.status_code == 412 and "observations" in response.json()["message"]
    unknown = prefetch_of("relapsed-esr1-plasma.bundle.json") | {"patient": None}  # no such patient
    response = client.post(
        f"/cds-services/{PATIENT_VIEW}", json=request("patient-view", "relapsed-1", prefetch=unknown)
    )
    assert response.status_code == 412 and "Patient" in response.json()["message"]


def test_malformed_request_is_400_naming_the_field(client):
    body = request("order-select", "relapsed-1", prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"))
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 400
    assert [v["field"] for v in response.json()["violations"]] == ["hook"]
    body = request("patient-view", "relapsed-1", fhirAuthorization={"access_token": "x", "token_type": "Bearer"})
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 400 and response.json()["violations"][0]["field"] == "fhirServer"
    assert client.post("/cds-services/nope", json=body).status_code == 404


def test_not_breast_cancer_gives_no_cards_and_early_disease_says_why(client):
    body = request("patient-view", "prostate-6", prefetch=prefetch_of("bad-not-breast-cancer.bundle.json"))
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 200 and response.json() == {"cards": []}
    body = request("patient-view", "persona-5", prefetch=prefetch_of("bad-mcode-persona-early.bundle.json"))
    cards = client.post(f"/cds-services/{PATIENT_VIEW}", json=body).json()["cards"]
    assert len(cards) == 1 and cards[0]["indicator"] == "info"
    assert_card_shape(cards[0])
    assert "early-stage disease is outside this pathway" in cards[0]["detail"]


# ---------------------------------------------------------------- order-select


def draft_orders(*drugs: tuple[str, str, str]) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": rid,
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/relapsed-1"},
                    "medicationCodeableConcept": {
                        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}],
                        "text": text,
                    },
                }
            }
            for rid, code, text in drugs
        ],
    }


def order_select(client, drafts: dict) -> list[dict]:
    selections = [f"MedicationRequest/{e['resource']['id']}" for e in drafts["entry"]]
    body = request(
        "order-select",
        "relapsed-1",
        prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"),
        context={"draftOrders": drafts, "selections": selections},
    )
    response = client.post(f"/cds-services/{ORDER_SELECT}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def rxnorm_of(reasoner, drug: str) -> str:
    """A code the graph maps to the drug (the test names no code itself)."""
    mapping = reasoner.fhir.mapping
    return next(
        code
        for (system, code), meanings in mapping.by_code.items()
        if system.endswith("rxnorm") and any(m.drug == drug for m in meanings)
    )


def test_order_select_warns_on_a_regimen_progressed_on(client, reasoner):
    """The relapsed patient progressed on letrozole + ribociclib: drafting it again is not eligible."""
    drafts = draft_orders(
        ("d1", rxnorm_of(reasoner, "letrozole"), "letrozole 2.5 MG Oral Tablet"),
        ("d2", rxnorm_of(reasoner, "ribociclib"), "ribociclib"),
    )
    cards = order_select(client, drafts)
    assert len(cards) == 1
    card = cards[0]
    assert_card_shape(card)
    assert card["indicator"] == "warning" and "Aromatase inhibitor + ribociclib" in card["summary"]
    assert "line 1" in card["detail"]  # the reason names the line
    assert card["selectionBehavior"] == "at-most-one" and card["suggestions"]
    first = card["suggestions"][0]
    assert {a["type"] for a in first["actions"]} == {"delete", "create"}
    assert {a["resourceId"] for a in first["actions"] if a["type"] == "delete"} == {
        "MedicationRequest/d1",
        "MedicationRequest/d2",
    }


def test_order_select_reads_two_drafted_aromatase_inhibitors_as_the_derivation_reads_such_a_line(client, reasoner):
    """Letrozole + anastrozole + ribociclib is the AI + ribociclib regimen to the derivation's line matching
    (each drug belongs to a component): order-select checked it as no regimen ("not checked") before."""
    drafts = draft_orders(
        ("d1", rxnorm_of(reasoner, "letrozole"), "letrozole"),
        ("d5", rxnorm_of(reasoner, "anastrozole"), "anastrozole"),
        ("d2", rxnorm_of(reasoner, "ribociclib"), "ribociclib"),
    )
    cards = order_select(client, drafts)
    assert len(cards) == 1, cards
    assert cards[0]["indicator"] == "warning" and "Aromatase inhibitor + ribociclib" in cards[0]["summary"]
    assert "not checked" not in cards[0]["summary"]


def test_order_select_is_silent_on_a_recommended_regimen(client, reasoner):
    drafts = draft_orders(
        ("d3", rxnorm_of(reasoner, "fulvestrant"), "fulvestrant"),
        ("d4", rxnorm_of(reasoner, "ribociclib"), "ribociclib"),
    )
    assert order_select(client, drafts) == []


def test_order_select_warns_when_a_drafted_drug_is_not_recognised(client, reasoner):
    """A drafted order whose drug the graph does not know is not silently left out of the check: the rest
    (fulvestrant + ribociclib, on which order-select is silent) would otherwise pass without a word."""
    drafts = draft_orders(
        ("d3", rxnorm_of(reasoner, "fulvestrant"), "fulvestrant"),
        ("d4", rxnorm_of(reasoner, "ribociclib"), "ribociclib"),
        ("d6", "0000000", "an investigational agent"),
    )
    cards = order_select(client, drafts)
    assert len(cards) == 1, cards
    card = cards[0]
    assert_card_shape(card)
    assert card["indicator"] == "warning"
    assert "MedicationRequest/d6" in card["detail"] and "an investigational agent" in card["detail"]


def test_order_select_says_when_the_drafted_drugs_make_up_no_regimen_of_the_pathway(client, reasoner):
    """Known drugs drafted together that are no regimen of the pathway (letrozole + capecitabine) cannot be
    checked against it; order-select said nothing, as if the draft had passed."""
    drafts = draft_orders(
        ("d7", rxnorm_of(reasoner, "letrozole"), "letrozole"),
        ("d8", rxnorm_of(reasoner, "capecitabine"), "capecitabine"),
    )
    cards = order_select(client, drafts)
    assert len(cards) == 1, cards
    card = cards[0]
    assert_card_shape(card)
    assert card["indicator"] == "warning"
    assert "MedicationRequest/d7" in card["detail"] and "MedicationRequest/d8" in card["detail"]
    assert "letrozole" in card["detail"] and "capecitabine" in card["detail"]


# ---------------------------------------------------------------- feedback


def test_feedback_is_stored_and_counted(client):
    body = request("patient-view", "relapsed-1", prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"))
    cards = client.post(f"/cds-services/{PATIENT_VIEW}", json=body).json()["cards"]
    card = cards[0]["uuid"]
    now = dt.datetime.now(dt.UTC).isoformat()
    feedback = {
        "feedback": [
            {"card": card, "outcome": "overridden", "outcomeTimestamp": now,
             "overrideReason": {"reason": {"code": "other", "display": "Other"}, "userComment": "seen"}},
            {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
             "outcomeTimestamp": now},
            {"card": card, "outcome": "overridden", "outcomeTimestamp": now},
        ]
    }  # fmt: skip
    response = client.post(f"/cds-services/{PATIENT_VIEW}/feedback", json=feedback)
    assert response.status_code == 200 and response.json() == {"stored": 3}
    counts = client.get(f"/cds-services/{PATIENT_VIEW}/feedback").json()["counts"]
    mine = {c["outcome"]: c["count"] for c in counts if c["card"] == card}
    assert mine == {"accepted": 1, "overridden": 2}
    assert all(c["summary"] == cards[0]["summary"] for c in counts if c["card"] == card)


@pytest.mark.parametrize(
    "item, field",
    [
        ({"card": "x", "outcome": "ignored", "outcomeTimestamp": NOW}, "feedback[0].outcome"),
        ({"card": "x", "outcome": "overridden"}, "feedback[0].outcomeTimestamp"),
        ({"card": "x", "outcome": "accepted", "outcomeTimestamp": NOW}, "feedback[0].acceptedSuggestions"),
        ({"outcome": "overridden", "outcomeTimestamp": NOW}, "feedback[0].card"),
        (
            {"card": "x", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00"},
            "feedback[0].outcomeTimestamp",
        ),
    ],
)
def test_malformed_feedback_is_400_naming_the_field(client, item, field):
    response = client.post(f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": [item]})
    assert response.status_code == 400
    assert response.json()["violations"][0]["field"] == field


# ---------------------------------------------------------------- JWT


@pytest.fixture()
def signing(tmp_path, monkeypatch):
    """A trusted issuer with its JWK Set in a file, and a way to sign tokens with its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS384", "use": "sig"}]}))
    issuer = "https://ehr.example.org"
    verifier = TokenVerifier({issuer: {"jwks_file": str(jwks)}})
    monkeypatch.setattr(cds_hooks, "get_verifier", lambda: verifier)

    def token(**claims) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "aud": "http://testserver/cds-services/" + PATIENT_VIEW, "iat": now,
                   "exp": now + 300, "jti": str(uuid.uuid4()), **claims}  # fmt: skip
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key, algorithm="RS384", headers={"kid": "k1", "typ": "JWT"})

    return token


def call(client, token: str | None):
    body = request("patient-view", "relapsed-1", prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/cds-services/{PATIENT_VIEW}", json=body, headers=headers)


def test_jwt_good_token_is_accepted(client, signing):
    assert call(client, signing()).status_code == 200


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"iss": "https://other.example.org"}, "issuer"),
        ({"aud": "http://testserver/cds-services/someone-else"}, "aud"),
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"jti": None}, "jti"),
    ],
)
def test_jwt_bad_token_is_401(client, signing, claims, reason):
    response = call(client, signing(**claims))
    assert response.status_code == 401 and reason in response.json()["message"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_jwt_missing_or_reused_is_401(client, signing):
    assert call(client, None).status_code == 401
    token = signing()
    assert call(client, token).status_code == 200
    reused = call(client, token)
    assert reused.status_code == 401 and "jti" in reused.json()["message"]


def test_jwt_signed_by_another_key_is_401(client, signing):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {"iss": "https://ehr.example.org", "aud": "http://testserver/cds-services/" + PATIENT_VIEW, "iat": now,
         "exp": now + 300, "jti": str(uuid.uuid4())},
        other, algorithm="RS384", headers={"kid": "k1"},
    )  # fmt: skip
    assert call(client, forged).status_code == 401


# ---------------------------------------------------------------- the FHIR-server path


class FhirHandler(BaseHTTPRequestHandler):
    """Read and `Type?patient=` search over the fixture bundles, `_count` results a page with `next` links;
    `/redirect/...` answers 302 to `server.redirect_to`; every Authorization header seen is recorded."""

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        server = self.server
        server.seen.append((self.path, self.headers.get("Authorization")))
        parts = urlsplit(self.path)
        path = parts.path.removeprefix("/fhir/")
        if path.startswith("redirect/"):
            self.send_response(302)
            self.send_header(
                "Location", server.redirect_to + "/fhir/" + path.removeprefix("redirect/") + "?" + parts.query
            )
            self.end_headers()
            return
        query = parse_qs(parts.query)
        kind, _, rid = path.partition("/")
        if rid:
            found = [r for r in server.resources if r["resourceType"] == kind and r["id"] == rid]
            return self.reply(200 if found else 404, found[0] if found else {"resourceType": "OperationOutcome"})
        patient = query.get("patient", [""])[0]
        matches = [
            r for r in server.resources
            if r["resourceType"] == kind and (r.get("subject") or {}).get("reference") == f"Patient/{patient}"
        ]  # fmt: skip
        count, offset = int(query.get("_count", ["2"])[0]), int(query.get("_offset", ["0"])[0])
        page = matches[offset : offset + count]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                  "entry": [{"resource": r, "search": {"mode": "match"}} for r in page]}  # fmt: skip
        if offset + count < len(matches):
            bundle["link"] = [{"relation": "next", "url": f"{server.base}/fhir/{kind}?patient={patient}"
                                                        f"&_count={count}&_offset={offset + count}"}]  # fmt: skip
        self.reply(200, bundle)

    def reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_server(host: str, fixture: str):
    server = ThreadingHTTPServer((host, 0), FhirHandler)
    server.resources = resources(fixture)
    server.seen = []
    server.base = f"http://{host}:{server.server_address[1]}"
    server.redirect_to = server.base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture()
def fhir_server():
    server = start_server("127.0.0.1", "relapsed-esr1-plasma.bundle.json")
    yield server
    server.shutdown()
    server.server_close()


def test_patient_view_reads_the_fhir_server_with_the_token(client, fhir_server):
    body = request(
        "patient-view",
        "relapsed-1",
        fhirServer=f"{fhir_server.base}/fhir",
        fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer", "expires_in": 300,
                           "scope": "patient/*.read", "subject": "mbc-kg"},
    )  # fmt: skip
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
    assert response.status_code == 200, response.text
    from_server = sorted(c["summary"] for c in response.json()["cards"])
    body = request("patient-view", "relapsed-1", prefetch=prefetch_of("relapsed-esr1-plasma.bundle.json"))
    from_prefetch = sorted(
        c["summary"] for c in client.post(f"/cds-services/{PATIENT_VIEW}", json=body).json()["cards"]
    )
    assert from_server == from_prefetch and from_server
    assert any("_offset=2" in path for path, _ in fhir_server.seen)  # it paged
    assert {auth for _, auth in fhir_server.seen} == {"Bearer secret-token"}


def test_fhir_server_keys_missing_from_prefetch_are_fetched(client, fhir_server):
    partial = prefetch_of("relapsed-esr1-plasma.bundle.json")
    del partial["medicationStatements"]
    body = request("patient-view", "relapsed-1", prefetch=partial, fhirServer=f"{fhir_server.base}/fhir")
    assert client.post(f"/cds-services/{PATIENT_VIEW}", json=body).status_code == 200
    assert {urlsplit(p).path for p, _ in fhir_server.seen} == {"/fhir/MedicationStatement"}


def test_no_redirect_to_another_host_and_no_token_sent_there(client, fhir_server):
    other = start_server("localhost", "relapsed-esr1-plasma.bundle.json")  # another host name: another origin
    try:
        fhir_server.redirect_to = other.base
        body = request(
            "patient-view",
            "relapsed-1",
            fhirServer=f"{fhir_server.base}/fhir/redirect",
            fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer"},
        )
        response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
        assert response.status_code == 502 and "not on the FHIR server" in response.json()["message"]
        assert other.seen == []
    finally:
        other.shutdown()
        other.server_close()


def test_fhir_server_timeout_is_502(client, monkeypatch):
    """A server that accepts the connection but never answers: the fetch gives up after the timeout."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    monkeypatch.setattr(cds_hooks, "fhir_timeout", lambda: 0.3)
    try:
        body = request("patient-view", "relapsed-1", fhirServer=f"http://127.0.0.1:{listener.getsockname()[1]}/fhir")
        response = client.post(f"/cds-services/{PATIENT_VIEW}", json=body)
        assert response.status_code == 502 and "in time" in response.json()["message"]
    finally:
        listener.close()


def test_context_tokens_must_be_fhir_ids():
    with pytest.raises(ValueError):
        prefetch_module.fill(PREFETCH["patient"], {"patientId": "../../admin?x=1"})
    assert prefetch_module.fill(PREFETCH["conditions"], {"patientId": "abc-1"}) == "Condition?patient=abc-1"


def test_jwt_with_the_issuers_jwks_url(client, monkeypatch):
    """An issuer configured by JWK Set URL (served here on 127.0.0.1): its keys are fetched from that URL
    only; a token whose jku names another URL is refused."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "u1", "alg": "RS384", "use": "sig"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    issuer = "https://sandbox.example"
    monkeypatch.setattr(cds_hooks, "get_verifier", lambda: TokenVerifier({issuer: {"jwks_url": url}}))
    try:

        def token(**headers) -> str:
            now = int(time.time())
            claims = {"iss": issuer, "aud": "http://testserver/cds-services/" + PATIENT_VIEW, "iat": now,
                      "exp": now + 300, "jti": str(uuid.uuid4())}  # fmt: skip
            return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "u1", **headers})

        assert call(client, token()).status_code == 200
        assert call(client, token(jku=url)).status_code == 200
        refused = call(client, token(jku="https://attacker.example/jwks.json"))
        assert refused.status_code == 401 and "jku" in refused.json()["message"]
    finally:
        server.shutdown()
        server.server_close()
