"""Cohort screening: NDJSON patient documents in; one row per patient and option out (CSV), or one answer per
patient (JSON lines). Invalid documents are reported with their line number and skipped; every input line
yields output. Patients are judged and derived in batches (one named graph per batch, each query evaluated
once for the whole batch), on as many processes as asked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from rdflib import RDF

from kg_service.core.errors import BadRequest, Violation
from kg_service.core.namespaces import MBC
from kg_service.reasoning.answer import build_answer
from kg_service.reasoning.pipeline import Derivation

CSV_FIELDS = ["line", "patient_id", "status", "step", "regimen", "drugs", "missing", "reasons"]


@dataclass
class BatchResult:
    answers: list[tuple[int, dict]] = field(default_factory=list)  # (line, answer) or (line, {"invalid": ...})


def screen_batch(reasoner, items: list[tuple[int, str]], today: dt.date | None = None) -> BatchResult:
    result = BatchResult()
    combined: list = []  # the batch's triples; a list, since adding to an rdflib Graph cost 10-40 us a triple
    parsed: dict = {}
    for line, text in items:
        if not text.strip():
            result.answers.append((line, {"invalid": [Violation("(line)", "the line is empty").as_dict()]}))
            continue
        try:
            prepared, violations = reasoner.parse(text, "application/json", today)
        except BadRequest as exc:
            result.answers.append((line, {"invalid": [Violation("(line)", str(exc)).as_dict()]}))
            continue
        parsed[line] = (prepared, violations, _patient_iri(prepared.graph))
        combined.extend(prepared.graph)
    if parsed:
        with reasoner.backend.patient_graph(combined) as scope:
            shape_violations = reasoner.compiled_shapes.validate(scope, reasoner.threads)
            derivation = reasoner.pipeline.run_in(scope)
        by_patient: dict = {}
        for name, rows in derivation.rows.items():
            for row in rows:
                by_patient.setdefault(row["patient"], {}).setdefault(name, []).append(row)
        for line, (prepared, violations, iri) in parsed.items():
            found = sorted(set(violations + shape_violations.get(iri, [])), key=lambda v: (v.field, v.message))
            if found:
                result.answers.append(
                    (line, {"patient_id": prepared.patient_id, "invalid": [v.as_dict() for v in found]})
                )
                continue
            rows = {name: by_patient.get(iri, {}).get(name, []) for name in derivation.rows}
            answer = build_answer(prepared.patient_id, reasoner.catalog, Derivation(rows=rows), prepared.warnings)
            result.answers.append((line, answer))
    result.answers.sort(key=lambda pair: pair[0])
    return result


@dataclass
class RenderedBatch:
    """A batch's output, rendered where it was computed (a worker), so the main process only writes text."""

    text: str = ""
    patients: int = 0
    invalid: int = 0
    rows: int = 0
    recommended_steps: Counter = field(default_factory=Counter)


def render_batch(result: BatchResult, fmt: str) -> RenderedBatch:
    rendered = RenderedBatch()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore") if fmt == "csv" else None
    for line, answer in result.answers:
        rendered.patients += 1
        if "invalid" in answer:
            rendered.invalid += 1
        else:
            rendered.recommended_steps.update(
                {o["step"]["label"] for o in answer["options"] if o["status"] == "recommended"}
            )
        if writer is not None:
            for row in csv_rows(line, answer):
                writer.writerow(row)
                rendered.rows += 1
        else:
            buffer.write(json.dumps({"line": line, **answer}, ensure_ascii=False) + "\n")
            rendered.rows += 1
    rendered.text = buffer.getvalue()
    return rendered


def _patient_iri(triples: Iterable[tuple]):
    return next((s for s, p, o in triples if p == RDF.type and o == MBC.Patient), None)


def csv_rows(line: int, answer: dict) -> Iterator[dict]:
    if "invalid" in answer:
        yield {
            "line": line,
            "patient_id": answer.get("patient_id", ""),
            "status": "invalid",
            "reasons": "; ".join(f"{v['field']}: {v['message']}" for v in answer["invalid"]),
        }
        return
    for option in answer["options"]:
        yield {
            "line": line,
            "patient_id": answer["patient_id"],
            "status": option["status"],
            "step": option["step"]["label"],
            "regimen": option["regimen"]["label"],
            "drugs": " + ".join(option["regimen"]["drugs"]),
            "missing": "; ".join(option["missing"]),
            "reasons": "; ".join(option["reasons"]),
        }


_WORKER = None


def _init_worker(threads: int | None) -> None:
    """threads: 1 in a pool of worker processes (the processes share the cores), else the default."""
    global _WORKER
    from kg_service.service import Reasoner

    _WORKER = Reasoner(threads=threads)


def _run(args: tuple[list[tuple[int, str]], dt.date | None, str]) -> RenderedBatch:
    items, today, fmt = args
    return render_batch(screen_batch(_WORKER, items, today), fmt)


def _bounded_map(pool: ProcessPoolExecutor, work: Iterator, window: int) -> Iterator[RenderedBatch]:
    """Like pool.map, in order, but with at most `window` batches in flight: Executor.map submits every batch
    at once, which held a 100,000-patient cohort in memory (3.2 GB resident)."""
    from collections import deque

    pending: deque = deque()
    for item in work:
        pending.append(pool.submit(_run, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def batches(lines: Iterable[str], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        batch.append((number, text))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Summary:
    patients: int = 0
    invalid: int = 0
    rows: int = 0
    seconds: float = 0.0
    recommended_steps: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        rate = self.patients / self.seconds if self.seconds else 0.0
        out = [
            f"screened {self.patients} patient(s) in {self.seconds:.1f} s ({rate:.0f}/s); "
            f"{self.invalid} invalid (reported with their line number and skipped); {self.rows} row(s) written"
        ]
        out += [f"  {count:>8}  recommended: {step}" for step, count in self.recommended_steps.most_common()]
        return out


def screen(
    lines: Iterable[str],
    out,
    fmt: str = "csv",
    workers: int = 1,
    batch_size: int = 50,
    today: dt.date | None = None,
    progress: bool = True,
    total: int | None = None,
) -> Summary:
    from tqdm import tqdm

    summary = Summary()
    started = time.perf_counter()
    if fmt == "csv":
        csv.DictWriter(out, fieldnames=CSV_FIELDS).writeheader()
    bar = tqdm(total=total, unit="patient", disable=not progress, file=sys.stderr, smoothing=0.1)
    work = ((batch, today, fmt) for batch in batches(lines, batch_size))
    if workers > 1:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(1,))
        results = _bounded_map(pool, work, window=4 * workers)
    else:
        _init_worker(None)
        pool, results = None, map(_run, work)
    try:
        for rendered in results:
            out.write(rendered.text)
            summary.patients += rendered.patients
            summary.invalid += rendered.invalid
            summary.rows += rendered.rows
            summary.recommended_steps.update(rendered.recommended_steps)
            bar.update(rendered.patients)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    summary.seconds = time.perf_counter() - started
    return summary
