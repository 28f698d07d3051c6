"""Issue 14, items 2 (limits), 7 (any body: a 4xx, never a 500 or a traceback) and 11 (loose inputs): each
gets one precise message naming the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from kg_service.patient.limits import LIMITS

from .conftest import ROOT, TODAY
from .test_patient_validation import VALID


def violations_of(reasoner, body: str | dict) -> list[dict]:
    text = body if isinstance(body, str) else json.dumps(body)
    verdict = reasoner.validate(text.encode(), "application/json", today=TODAY)
    assert verdict["valid"] is False
    return verdict["violations"]


def with_(**changes) -> dict:
    document = copy.deepcopy(VALID)
    document.update(changes)
    return document


# ---------------------------------------------------------------- item 7: deeply nested bodies


DEEP = ["[" * 10_000, "{" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000, "[" * 100_000 + "]" * 100_000]


@pytest.mark.parametrize("body", DEEP, ids=["brackets", "braces", "objects", "balanced"])
@pytest.mark.parametrize("path", ["/v1/recommendations", "/v1/validate"])
@pytest.mark.parametrize("media", ["application/json", "application/ld+json"])
def test_deeply_nested_json_is_a_4xx(client, body, path, media):
    response = client.post(path, content=body.encode()[:1_000_000], headers={"content-type": media})
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) >= {"error", "message"}


def test_deeply_nested_turtle_is_a_4xx(client):
    response = client.post(
        "/v1/recommendations", content=b"<x> <y> " + b"[ <p> " * 20_000, headers={"content-type": "text/turtle"}
    )
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("command", ["recommend", "validate"])
def test_cli_prints_no_traceback_for_a_deeply_nested_body(tmp_path, command):
    patient = tmp_path / "deep.json"
    patient.write_text("[" * 10_000)
    done = subprocess.run(
        [sys.executable, "-m", "kg_service", command, str(patient)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "nested too deeply" in done.stderr


# ---------------------------------------------------------------- item 11: loose inputs


def test_an_impossible_date_gets_one_precise_message(reasoner):
    found = violations_of(reasoner, with_(metastatic_diagnosis_date="2025-02-30"))
    assert found == [
        {
            "field": "metastatic_diagnosis_date",
            "message": "is not a valid date: '2025-02-30' has day 30, and February 2025 has 28 days",
        }
    ]


@pytest.mark.parametrize(
    "line,key,value,words",
    [
        (0, "end_date", "2024-13-01", "has no month 13"),
        (0, "start_date", "15/01/2019", "YYYY-MM-DD"),
        (1, "start_date", 20250301, "as text (got the number 20250301)"),
    ],
)
def test_other_dates_that_are_no_dates_get_one_message(reasoner, line, key, value, words):
    document = copy.deepcopy(VALID)
    document["therapies"][line][key] = value
    found = violations_of(reasoner, document)
    assert [v["field"] for v in found] == [f"therapies[{line}].{key}"] and words in found[0]["message"], found


def test_nan_is_refused_naming_the_field(reasoner):
    found = violations_of(reasoner, json.dumps(VALID).replace('"pt-valid"', "NaN"))
    assert found == [{"field": "id", "message": "is NaN, which is not a JSON value (JSON numbers are finite)"}]


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity"])
def test_infinity_is_refused(reasoner, constant):
    text = json.dumps(VALID).replace('"line": 1', f'"line": {constant}')
    found = violations_of(reasoner, text)
    assert [v["field"] for v in found] == ["therapies[1].line"] and constant in found[0]["message"]


def test_a_code_given_as_a_number_is_refused(reasoner):
    found = violations_of(reasoner, with_(her2={"ihc": 0}))
    assert found == [{"field": "her2.ihc", "message": "must be text, in quotes (got the number 0)"}]


def test_duplicate_keys_are_refused_naming_the_field(reasoner):
    text = json.dumps(VALID).replace('"er": "positive"', '"er": "negative", "er": "positive"')
    found = violations_of(reasoner, text)
    assert [v["field"] for v in found] == ["er"] and "more than once" in found[0]["message"]
    nested = json.dumps(VALID).replace('"ihc": "1+"', '"ihc": "1+", "ihc": "2+"')
    assert [v["field"] for v in violations_of(reasoner, nested)] == ["her2.ihc"]


def test_the_api_answers_422_for_each(client):
    for text in (
        json.dumps(with_(metastatic_diagnosis_date="2025-02-30")),
        json.dumps(VALID).replace('"pt-valid"', "NaN"),
        json.dumps(with_(her2={"ihc": 0})),
        json.dumps(VALID).replace('"er": "positive"', '"er": "positive", "er": "positive"'),
    ):
        response = client.post("/v1/recommendations", content=text, headers={"content-type": "application/json"})
        assert response.status_code == 422 and len(response.json()["violations"]) == 1, response.text


# ---------------------------------------------------------------- item 2: limits


def test_limits_are_far_above_a_real_patient():
    assert LIMITS.therapies >= 50 and LIMITS.biomarkers >= 100 and LIMITS.drugs >= 10 and LIMITS.string_length >= 200


@pytest.mark.parametrize(
    "document,field,words",
    [
        (with_(therapies=VALID["therapies"] * (LIMITS.therapies // 2 + 1)), "therapies", "at most 50"),
        (with_(biomarkers=VALID["biomarkers"] * (LIMITS.biomarkers + 1)), "biomarkers", "at most 100"),
        (
            with_(therapies=[dict(VALID["therapies"][0], drugs=["letrozole"] * (LIMITS.drugs + 1))]),
            "therapies[0].drugs",
            "at most 10",
        ),
        (with_(biomarkers=[dict(VALID["biomarkers"][0], variant="p." + "A" * 300)]), "biomarkers[0].variant", "302"),
        (with_(**{f"x{i}": 1 for i in range(LIMITS.fields)}), "(document)", "fields"),
    ],
    ids=["therapies", "biomarkers", "drugs", "string", "fields"],
)
def test_past_a_limit_is_422_naming_the_field(client, document, field, words):
    response = client.post("/v1/recommendations", json=document)
    assert response.status_code == 422
    named = [v for v in response.json()["violations"] if v["field"] == field]
    assert len(named) == 1 and words in named[0]["message"], response.json()


def test_the_worst_accepted_document_is_answered(client):
    """At every limit at once (50 lines, 100 results, 10 drugs a line, long texts), a valid patient is still
    answered; benchmarks/worst_document.py measures its cost against a normal one."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from worst_document import worst_document

    response = client.post("/v1/recommendations", json=worst_document())
    assert response.status_code == 200, response.text[:2000]


def _turtle_patient(biomarkers: int = 1, drugs: int = 1) -> str:
    lines = [
        "@prefix mbc: <https://w3id.org/mbc-kg/ontology#> .",
        '<urn:p> a mbc:Patient ; mbc:patientId "p1" .',
    ]
    lines += [
        f"<urn:p> mbc:hasBiomarkerResult <urn:b{i}> . <urn:b{i}> a mbc:BiomarkerResult ." for i in range(biomarkers)
    ]
    lines += ["<urn:p> mbc:hasTherapyLine <urn:t> ."] + [f"<urn:t> mbc:includesDrug <urn:d{i}> ." for i in range(drugs)]
    return "\n".join(lines)


@pytest.mark.parametrize(
    "turtle,words",
    [
        (_turtle_patient(biomarkers=LIMITS.biomarkers + 1), "101 biomarker results; at most 100"),
        (_turtle_patient(drugs=LIMITS.drugs + 1), "11 drugs; at most 10"),
        (_turtle_patient(biomarkers=LIMITS.rdf_triples), "triples; at most 5,000"),
        (_turtle_patient() + '\n<urn:p> mbc:variant "' + "v" * 201 + '" .', "201 characters"),
    ],
    ids=["results", "drugs", "triples", "text"],
)
def test_rdf_patients_have_the_same_limits(client, turtle, words):
    response = client.post("/v1/recommendations", content=turtle, headers={"content-type": "text/turtle"})
    assert response.status_code == 422
    violations = response.json()["violations"]
    assert len(violations) == 1 and words in violations[0]["message"], violations


@pytest.mark.parametrize("datatype", ["langString", "dirLangString"])
def test_a_language_string_without_a_language_tag_is_refused(client, datatype):
    # RDF: a literal of rdf:langString (rdf:dirLangString) has a language tag. rdflib and Oxigraph's term
    # constructor keep "abc"^^rdf:langString, Oxigraph's strict reader refuses it; it was answered as if valid
    turtle = _turtle_patient() + f'\n<urn:p> <urn:q> "abc"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#{datatype}> .'
    response = client.post("/v1/recommendations", content=turtle, headers={"content-type": "text/turtle"})
    assert response.status_code == 400, response.text
    assert "language tag" in response.text and "abc" in response.text
