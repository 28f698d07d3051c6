"""Cohort screening and synthetic cohorts: every input line yields output, invalid documents are reported
with their line number and skipped, and batch answers equal one-by-one answers."""

from __future__ import annotations

import csv
import io
import json

from kg_service.cli import main as cli_main
from kg_service.cohort.screening import screen
from kg_service.cohort.synthetic import CohortGenerator

from .conftest import ROOT, TODAY

VIGNETTES = sorted((ROOT / "tests" / "vignettes").glob("*.json"))


def test_synthetic_patients_are_valid_and_reach_many_steps(reasoner, graph):
    generator = CohortGenerator(graph, TODAY)
    recommended = set()
    for document in generator.cohort(150, seed=3):
        answer = reasoner.recommend(document, today=TODAY)
        recommended |= {o["step"]["label"] for o in answer["options"] if o["status"] == "recommended"}
    assert len(recommended) >= 9


def test_screening_loses_no_row_and_reports_invalid_lines(graph):
    generator = CohortGenerator(graph, TODAY)
    lines = [json.dumps(d) for d in generator.cohort(25, seed=5)]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"id": "bad", "stage": "early", "er": "positive", "her2": {"ihc": "1+"}}))
    lines.append("")
    out = io.StringIO()
    summary = screen(lines, out, batch_size=4, progress=False, today=TODAY)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert summary.patients == len(lines) == 28 and summary.invalid == 3
    assert {int(r["line"]) for r in rows} == set(range(1, 29))
    invalid = {int(r["line"]): r for r in rows if r["status"] == "invalid"}
    assert set(invalid) == {4, 8, 28}
    assert "stage" in invalid[8]["reasons"] and "not valid JSON" in invalid[4]["reasons"]


def test_batch_answers_equal_single_answers(reasoner, graph):
    generator = CohortGenerator(graph, TODAY)
    documents = list(generator.cohort(60, seed=7))
    out = io.StringIO()
    screen([json.dumps(d) for d in documents], out, fmt="jsonl", progress=False, today=TODAY)  # batches of 50
    batch = [json.loads(line) for line in out.getvalue().splitlines()]
    for document, answer in zip(documents, batch, strict=True):
        single = reasoner.recommend(document, today=TODAY)
        assert {k: v for k, v in answer.items() if k != "line"} == single


def test_a_large_batch_of_every_vignette_equals_one_by_one_answers(reasoner):
    # The batch queries join patients' data through shared graph nodes (genes, drugs, steps): one batch of all
    # the vignettes' edge cases shows that no patient's data reaches another's answer.
    documents = [json.loads(path.read_text(encoding="utf-8"))["patient"] for path in VIGNETTES]
    out = io.StringIO()
    screen([json.dumps(d) for d in documents], out, fmt="jsonl", batch_size=len(documents), progress=False, today=TODAY)
    batch = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(batch) == len(documents) > 50
    for document, answer in zip(documents, batch, strict=True):
        assert {k: v for k, v in answer.items() if k != "line"} == reasoner.recommend(document, today=TODAY)


def test_synth_and_screen_commands(tmp_path):
    cohort, results = tmp_path / "cohort.ndjson", tmp_path / "results.csv"
    assert cli_main(["synth", "--n", "20", "--seed", "2", "--today", "2026-11-25", "--out", str(cohort)]) == 0
    assert cli_main(["screen", str(cohort), "--out", str(results), "--no-progress", "--workers", "2"]) == 0
    rows = list(csv.DictReader(results.open()))
    assert {int(r["line"]) for r in rows} == set(range(1, 21))
