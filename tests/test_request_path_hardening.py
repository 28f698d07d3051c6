"""Request-path hardening (review findings after issue 17): the patient's picture is judged through the
batcher (503 with Retry-After past the queue bound); what requests used to build on first use is built once
under a lock, kept per reasoner, and prepared at start-up; the FHIR mapping and the regimen table run on the
embedded store through the shared query runner; per-request work derived once; a drawing that cannot place
a line refuses in words; the example files read once."""

from __future__ import annotations

import copy
import json

import pytest

from kg_service.cds.orders import RegimenTable
from kg_service.drawing import pathway as drawing
from kg_service.graph import query_runner
from kg_service.graph.query_runner import run_rdflib
from kg_service.http import pages
from kg_service.patient.fhir import adapter as fhir_adapter
from kg_service.patient.fhir import mapping as fhir_mapping

from .conftest import ROOT, TODAY

REGIMEN_QUERY = "service/regimen-components"
EXAMPLE = ROOT / "examples" / "patient-esr1-after-cdk46.json"
FHIR_BUNDLE = ROOT / "tests" / "fixtures" / "fhir" / "denovo-searchset.bundle.json"


# ---------------------------------------------------------------- 3. the shared query runner, on the store


def test_the_regimen_table_runs_on_the_store_and_is_the_rdflib_table(reasoner, monkeypatch):
    # fails before the fix: RegimenTable ran its query on an rdflib Graph only (OxigraphStore has no .query)
    calls = []
    original = query_runner.run_oxigraph

    def spy(store, name, params=None):
        calls.append(name)
        return original(store, name, params)

    monkeypatch.setattr("kg_service.cds.orders.run_oxigraph", spy)
    table = RegimenTable(reasoner.store)
    assert calls == [REGIMEN_QUERY]
    reference = run_rdflib(reasoner.graph, REGIMEN_QUERY).rows  # the table's rows as rdflib reads them
    by_regimen: dict[str, dict[str, set[str]]] = {}
    ignored = set()
    for row in reference:
        if row["ignored"].toPython():
            ignored.add(str(row["name"]))
        else:
            by_regimen.setdefault(str(row["regimen"]), {}).setdefault(str(row["component"]), set()).add(
                str(row["name"])
            )

    def shape(components):  # the components are blank nodes, named differently by each engine
        return {r: sorted(sorted(names) for names in slots.values()) for r, slots in components.items()}

    assert table.ignored == ignored and shape(table.components) == shape(by_regimen)
    assert shape(RegimenTable(reasoner.graph).components) == shape(table.components)
    assert table.components and table.ignored


def test_the_fhir_mapping_runs_its_queries_through_the_shared_runner(reasoner, monkeypatch):
    # fails before the fix: mapping._rows ran the queries on a scratch store of its own making
    calls = []
    original = query_runner.run_oxigraph

    def spy(store, name, params=None):
        calls.append(name)
        return original(store, name, params)

    monkeypatch.setattr(fhir_mapping, "run_oxigraph", spy, raising=False)
    names = {name: reasoner.vocabulary.generic_names[d] for name, d in reasoner.vocabulary.drugs_by_name.items()}
    mapping = fhir_mapping.read_fhir_mapping(reasoner.store, names)
    assert "service/fhir-codes" in calls and "service/fhir-roles" in calls
    assert mapping.by_code == reasoner.fhir.mapping.by_code and mapping.roles == reasoner.fhir.mapping.roles


# ---------------------------------------------------------------- 4. per-request work derived once; refusals


class NoScan(dict):
    """A code table that may be looked up but not scanned."""

    def __iter__(self):
        raise AssertionError("the code table was scanned for one request")

    def keys(self):
        raise AssertionError("the code table was scanned for one request")

    def items(self):
        raise AssertionError("the code table was scanned for one request")


def test_a_patients_gender_is_looked_up_not_scanned_for(reasoner):
    # fails before the fix: the adapter scanned every (system, code) of the table for the gender's code
    adapter = fhir_adapter.FhirAdapter(reasoner.store, {})
    bundle = json.loads(FHIR_BUNDLE.read_text(encoding="utf-8"))
    expected = adapter.convert(bundle).document.get("sex")
    assert expected  # the fixture's Patient has a gender the pathway reads
    adapter.mapping.by_code = NoScan(adapter.mapping.by_code)
    assert adapter.convert(bundle).document.get("sex") == expected


def test_the_step_labels_are_indexed_once_per_pathway(reasoner, monkeypatch):
    # fails before the fix: step_by_label() was rebuilt twice per drawing
    answer = reasoner.recommend(EXAMPLE.read_bytes(), today=TODAY)
    assert answer["assessment"]["pathway_position"]
    built = []
    original = drawing.Pathway.step_by_label

    def counted(self):
        built.append(1)
        return original(self)

    monkeypatch.setattr(drawing.Pathway, "step_by_label", counted)
    pathway = drawing.read_pathway(reasoner.store)
    after_reading = len(built)
    for _ in range(3):
        drawing.to_dot(pathway, answer)
    assert len(built) == after_reading <= 1


def test_a_line_at_a_step_the_pathway_does_not_hold_is_refused_in_words(reasoner):
    # fails before the fix: the line was dropped from the picture without a word
    pathway = drawing.read_pathway(reasoner.store)
    answer = reasoner.recommend(EXAMPLE.read_bytes(), today=TODAY)
    odd = copy.deepcopy(answer)
    odd["assessment"]["pathway_position"][0]["step"] = "A step no graph holds"
    with pytest.raises(drawing.UnknownStep, match="A step no graph holds") as refused:
        drawing.to_dot(pathway, odd)
    assert "pathway_position[0].step" in str(refused.value)
    assert isinstance(refused.value, drawing.DrawingUnavailable)  # the HTTP surface answers 503 in words
    drawing.to_dot(pathway, answer)  # the answer as the reasoner gave it is drawn


# ---------------------------------------------------------------- 5. the example files read once


def test_an_example_file_is_read_once(client, monkeypatch):
    # fails before the fix: each GET /ui/examples/{name} read the file again
    pages.examples.cache_clear()
    if hasattr(pages, "example_files"):
        pages.example_files.cache_clear()
    first = client.get("/ui/examples/patient-esr1-after-cdk46.json")
    assert first.status_code == 200 and first.content == EXAMPLE.read_bytes()

    def gone(*_):
        raise AssertionError("the examples folder was read again")

    monkeypatch.setattr(pages, "data_dir", gone)
    again = client.get("/ui/examples/patient-esr1-after-cdk46.json")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-type"].startswith("application/json")
    assert client.get("/ui/examples/nothing.json").status_code == 404
