"""Absent in FHIR is unknown, not an error (issue 15): a HER2 result coded negative without an IHC score, and a
metastasis Condition without an onset date, are answered with the value unknown and named in `missing`; the
adapter records the absence in the patient graph (mbc:notStatedInRecord), the shapes accept it only with that
marker (the JSON document still needs both fields: 422), and an RDF patient with the marker is answered the
same. A HER2 result coded positive stays a 422 (tests/test_fhir_input.py, the bad fixtures)."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph

from kg_service.core.errors import InvalidPatient
from kg_service.core.namespaces import MBC
from kg_service.patient.validation import validate_patient

from .conftest import ROOT

UNSTATED = ROOT / "tests" / "fixtures" / "fhir" / "unstated"
HER2 = "her2-negative-without-score.bundle.json"
NODATE = "metastasis-without-date.bundle.json"
FHIR = {"content-type": "application/fhir+json"}


def read(name: str) -> bytes:
    return (UNSTATED / name).read_bytes()


def texts(graph: Graph, subject, prop) -> set[str]:
    return {str(o) for o in graph.objects(subject, prop)}


def by_label(answer: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for option in answer["options"]:
        out.setdefault(option["regimen"]["label"], []).append(option)
    return out


def test_her2_negative_without_score_is_answered_with_the_score_missing(reasoner, graph):
    answer = reasoner.recommend(read(HER2), "application/fhir+json")
    assert answer["assessment"]["her2_category"] == str(graph.value(MBC.HER2NegativeUnscored, MBC.code))
    score_test = texts(graph, MBC.HER2NegativeUnscored, MBC.missingTest)
    staining_test = {
        str(o) for s in graph.subjects(MBC.ruleMembraneStaining, None) for o in graph.objects(s, MBC.missingTest)
    }
    assert len(score_test) == 1 and len(staining_test) == 1
    # T-DXd (HER2-low, or ultralow after endocrine progression) rests on the score, and at IHC 0 on the staining
    tdxd = by_label(answer)["Trastuzumab deruxtecan"]
    assert [o["status"] for o in tdxd] == ["undetermined"]
    assert set(tdxd[0]["missing"]) == score_test | staining_test
    her2_values = {c["id"].rsplit("/", 1)[-1]: c["value"] for c in tdxd[0]["criteria"] if "her2" in c["id"]}
    assert her2_values["her2-low"] == "unknown" and her2_values["her2-low-or-ultralow"] == "unknown"
    # HER2-negative holds whatever the score (null, ultralow and low are all HER2-negative): Dato-DXd is answered
    assert [o["status"] for o in by_label(answer)["Datopotamab deruxtecan"]] == ["recommended"]
    for option in answer["options"]:  # no option asks for the score unless its status rests on it
        if option["status"] != "undetermined":
            assert option["missing"] == []
    assert any("without an IHC score" in w and "Bundle.entry[" in w for w in answer["warnings"])


def test_missing_metastatic_diagnosis_date_leaves_sensitivity_undetermined(reasoner):
    answer = reasoner.recommend(read(NODATE), "application/fhir+json")
    assert answer["assessment"]["endocrine_sensitivity"] is None
    statuses = {o["status"] for o in answer["options"]}
    assert {"recommended", "eligible"} & statuses  # options whose criteria do not rest on the date are answered
    dated = [
        o
        for o in answer["options"]
        if any(c["id"].rsplit("/", 1)[-1].startswith("endocrine-") and c["value"] == "unknown" for c in o["criteria"])
    ]
    assert dated, "some option rests on endocrine sensitivity"
    for option in dated:
        assert option["status"] in ("undetermined", "not_eligible")
        if option["status"] == "undetermined":
            assert any("metastatic diagnosis date" in m for m in option["missing"])
    assert any("onset[x] is absent" in w for w in answer["warnings"])


@pytest.mark.parametrize("name", [HER2, NODATE])
def test_over_http(client, reasoner, name):
    response = client.post("/v1/recommendations", content=read(name), headers=FHIR)
    assert response.status_code == 200, response.text
    direct = reasoner.recommend(read(name), "application/fhir+json")
    assert response.json()["options"] == direct["options"]
    response = client.post("/v1/validate", content=read(name), headers=FHIR)
    assert response.status_code == 200 and response.json()["valid"] is True, response.text


@pytest.mark.parametrize(("name", "field"), [(HER2, "her2.ihc"), (NODATE, "metastatic_diagnosis_date")])
def test_the_json_document_without_the_field_is_still_refused(client, reasoner, name, field):
    document = reasoner.fhir.convert(json.loads(read(name))).document
    with pytest.raises(InvalidPatient) as refused:
        reasoner.recommend(document, "application/json")
    assert field in {v.field for v in refused.value.violations}
    response = client.post("/v1/recommendations", json=document)
    assert response.status_code == 422
    # a document cannot smuggle the marker in: an unknown field is ignored with a warning, the field still required
    with pytest.raises(InvalidPatient):
        reasoner.recommend(document | {"not_stated_in_record": [field]}, "application/json")


@pytest.mark.parametrize("name", [HER2, NODATE])
def test_an_rdf_patient_with_the_marker_is_answered_the_same(reasoner, name):
    prepared, violations = reasoner.parse(read(name), "application/fhir+json")
    assert violations == []
    graph = Graph()
    for triple in prepared.graph:
        graph.add(triple)
    assert any(graph.triples((None, MBC.notStatedInRecord, None)))
    turtle = graph.serialize(format="turtle")
    from_rdf = reasoner.recommend(turtle, "text/turtle")
    from_fhir = reasoner.recommend(read(name), "application/fhir+json")
    assert from_rdf["options"] == from_fhir["options"]
    assert from_rdf["assessment"] == from_fhir["assessment"]
    # without the marker the same graph is refused, naming the field
    graph.remove((None, MBC.notStatedInRecord, None))
    with pytest.raises(InvalidPatient):
        reasoner.recommend(graph.serialize(format="turtle"), "text/turtle")


@pytest.mark.parametrize("name", [HER2, NODATE])
def test_pyshacl_agrees_the_marked_graph_conforms_and_the_unmarked_does_not(reasoner, name):
    prepared, _ = reasoner.parse(read(name), "application/fhir+json")
    assert validate_patient(prepared.graph, reasoner.vocabulary) == []
    unmarked = {t for t in prepared.graph if t[1] != MBC.notStatedInRecord}
    assert validate_patient(unmarked, reasoner.vocabulary) != []
