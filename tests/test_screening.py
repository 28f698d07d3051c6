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
    assert summary.lines == len(lines) == 28 and summary.patients == 26
    assert summary.invalid == 1 and summary.bad_lines == 2  # an invalid patient, and two lines that are none
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


def _cohort(graph, n: int, seed: int) -> list[bytes]:
    return [json.dumps(d).encode() + b"\n" for d in CohortGenerator(graph, TODAY).cohort(n, seed=seed)]


def test_a_line_that_is_not_utf8_is_a_bad_line_and_the_run_goes_on(graph, tmp_path):
    lines = _cohort(graph, 8, seed=11)
    lines.insert(2, b'{"id": "caf\xe9", "stage": "metastatic"}\n')  # Latin-1, not UTF-8
    cohort, results = tmp_path / "cohort.ndjson", tmp_path / "results.csv"
    cohort.write_bytes(b"".join(lines))
    assert cli_main(["screen", str(cohort), "--out", str(results), "--no-progress", "--workers", "1"]) == 0
    rows = list(csv.DictReader(results.open(encoding="utf-8")))
    assert {int(r["line"]) for r in rows} == set(range(1, 10))  # the lines after it were screened too
    bad = [r for r in rows if r["line"] == "3"]
    assert len(bad) == 1 and bad[0]["status"] == "invalid" and "not valid UTF-8" in bad[0]["reasons"]
    assert "byte 0xe9" in bad[0]["reasons"]


def test_the_summary_counts_patients_and_bad_lines_apart(graph, tmp_path, capsys):
    lines = _cohort(graph, 5, seed=12)
    lines[1:1] = [b"\xff\xfe\n", b"\n", b"[not json\n"]
    lines.append(json.dumps({"id": "early", "stage": "early", "er": "positive", "her2": {"ihc": "1+"}}).encode())
    cohort = tmp_path / "cohort.ndjson"
    cohort.write_bytes(b"".join(lines))
    assert cli_main(["screen", str(cohort), "--out", str(tmp_path / "r.csv"), "--no-progress", "--workers", "1"]) == 0
    report = capsys.readouterr().err
    assert "screened 9 line(s)" in report and "6 patient(s), 1 of them invalid; 3 bad line(s)" in report


def test_a_run_writes_a_partial_file_and_renames_it_only_when_complete(graph, tmp_path):
    cohort, results = tmp_path / "cohort.ndjson", tmp_path / "results.csv"
    cohort.write_bytes(b"".join(_cohort(graph, 6, seed=13)))
    assert cli_main(["screen", str(cohort), "--out", str(results), "--no-progress", "--workers", "1"]) == 0
    assert results.exists() and not (tmp_path / "results.csv.partial").exists()
    assert not (tmp_path / "results.csv.partial.json").exists()
    again = ["screen", str(cohort), "--out", str(results), "--resume", "--no-progress"]
    assert cli_main(again) == 2  # nothing to resume


def test_a_killed_run_resumes_to_the_bytes_of_an_uninterrupted_run(graph, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    lines = _cohort(graph, 160, seed=14)
    lines.insert(40, b"\xc3\x28 not utf-8\n")
    lines.insert(90, b"{broken\n")
    cohort = tmp_path / "cohort.ndjson"
    cohort.write_bytes(b"".join(lines))
    whole, killed = tmp_path / "whole.csv", tmp_path / "killed.csv"
    common = ["--no-progress", "--workers", "1", "--batch-size", "10", "--today", "2026-11-25"]
    assert cli_main(["screen", str(cohort), "--out", str(whole), *common]) == 0

    command = [sys.executable, "-m", "kg_service", "screen", str(cohort), "--out", str(killed), *common]
    env = {k: v for k, v in os.environ.items() if k != "MBC_KG_SPARQL_ENDPOINT"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    marker = tmp_path / "killed.csv.partial.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if marker.exists() and json.loads(marker.read_text())["summary"]["last_line"] >= 50:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not killed.exists()  # what a killed run leaves does not look complete
    partial = tmp_path / "killed.csv.partial"
    assert partial.exists() and partial.stat().st_size < whole.stat().st_size
    resume = ["screen", str(cohort), "--out", str(killed), "--resume", "--no-progress", "--workers", "1"]
    assert cli_main([*resume, "--today", "2026-11-26"]) == 2  # not the date the run was screened as of
    assert cli_main(resume) == 0
    assert killed.read_bytes() == whole.read_bytes()
    assert not partial.exists() and not marker.exists()
