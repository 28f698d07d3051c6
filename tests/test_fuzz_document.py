"""Issue 14, "done when": hypothesis over the JSON patient document. Documents that mix the contract's fields
with wrong types, wrong values, unknown fields, deep nesting, huge counts and raw bytes are sent to both
patient endpoints: every answer is a 200 with the contract's answer, or a 4xx in the one error shape, never a
500 and never anything else."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_patient_validation import VALID

EXAMPLES = int(os.environ.get("MBC_KG_FUZZ_EXAMPLES", "60"))
FIELDS = ["id", "sex", "menopausal_status", "stage", "metastatic_diagnosis_date", "er", "pr", "her2", "biomarkers",
          "therapies", "ihc", "ish", "membrane_staining", "gene", "result", "variant", "origin", "specimen", "date",
          "setting", "line", "drugs", "start_date", "end_date", "outcome"]  # fmt: skip
WORDS = ["positive", "negative", "low", "metastatic", "early", "0", "1+", "2+", "3+", "ESR1", "BRCA1", "detected",
         "not_detected", "germline", "letrozole", "fulvestrant", "2025-02-30", "2024-01-01", "2099-01-01", "1800-01-01",
         "", "NaN", "null", "x" * 300, "female", "male", "not_done", "progression", "ongoing"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(WORDS),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)


@st.composite
def documents(draw):
    """A valid document with some of its fields replaced, removed or added, at any depth."""
    document = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(0, 6))):
        target = document
        path = draw(st.lists(st.sampled_from(FIELDS) | st.integers(0, 3), min_size=1, max_size=3))
        for key in path[:-1]:
            if isinstance(target, dict) and key in target and isinstance(target[key], (dict, list)):
                target = target[key]
            elif isinstance(target, list) and isinstance(key, int) and key < len(target):
                target = target[key]
        key = path[-1]
        if isinstance(target, dict) and isinstance(key, str):
            if draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = draw(values)
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target[key] = draw(values)
    if draw(st.integers(0, 9)) == 0:  # sometimes many entries
        document["biomarkers"] = document.get("biomarkers") or []
        if isinstance(document["biomarkers"], list):
            document["biomarkers"] = document["biomarkers"] * draw(st.integers(1, 120))
    return document


def check(response) -> None:
    assert response.status_code in (200, 400, 413, 415, 422), (response.status_code, response.text[:500])
    body = response.json()
    if response.status_code == 200:
        assert ("options" in body and "patient_id" in body) or body.get("valid") is True
    else:
        assert isinstance(body["error"], str) and isinstance(body["message"], str)
        for violation in body.get("violations", []):
            assert set(violation) == {"field", "message"} and all(isinstance(v, str) for v in violation.values())


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(document=documents(), path=st.sampled_from(["/v1/recommendations", "/v1/validate"]))
def test_any_document_gets_an_answer_or_a_4xx(client, document, path):
    check(client.post(path, content=json.dumps(document), headers={"content-type": "application/json"}))


@SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        values.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 5000).map(lambda n: (b"[" * n) + (b"]" * n)),
        st.sampled_from([b'{"id": NaN}', b'{"id": "a", "id": "b"}', b'{"her2": {"ihc": 0}}', b"\xef\xbb\xbf{}"]),
    ),
    media=st.sampled_from(["application/json", "text/turtle", "application/ld+json", "application/n-triples"]),
)
def test_any_body_gets_an_answer_or_a_4xx(client, body, media):
    check(client.post("/v1/recommendations", content=body, headers={"content-type": media}))
