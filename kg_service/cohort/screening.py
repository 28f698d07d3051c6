"""Cohort screening: NDJSON patient documents in; one row per patient and option out (CSV), or one answer per
patient (JSON lines). Every input line yields output: a line that is not a patient document (empty, not
UTF-8, not JSON) is a bad line, and an invalid document an invalid patient, both reported with their line
number and skipped. Patients are judged and derived in batches (Reasoner.judge_many: one named graph per
batch, each query evaluated once for the whole batch), on as many processes as the machine has, or on the
workers of a Dask cluster (cohort/distributed.py).

Written to a file, the output goes to `<out>.partial` with a checkpoint beside it (`<out>.partial.json`:
the byte offset and line of the last whole batch written, and the counts so far) and is renamed to `<out>`
only when every line has been screened, so that a killed run never leaves a file that looks complete;
`resume=True` continues such a run from its checkpoint, to the same bytes an uninterrupted run writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kg_service.core.errors import BadRequest, Violation
from kg_service.core.memory import freeze_start_up_objects

CSV_FIELDS = ["line", "patient_id", "status", "step", "regimen", "drugs", "missing", "reasons"]
BATCH_SIZE = 50  # patients judged and derived per batch: see docs/decisions/20261201-throughput.md


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_line(reasoner, text: str | bytes, today: dt.date | None = None):
    """One NDJSON line: (PreparedPatient, the parser's violations), or the Violation that makes it a bad line
    (empty, not UTF-8, not JSON). The one place a line becomes a patient, for new line formats to extend."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Violation("(line)", f"the line is not valid UTF-8: byte {exc.object[exc.start]:#04x} at {exc.start}")
    if not text.strip():
        return Violation("(line)", "the line is empty")
    try:
        return reasoner.parse(text, "application/json", today)
    except BadRequest as exc:
        return Violation("(line)", str(exc))


@dataclass
class BatchResult:
    answers: list[tuple[int, dict]] = field(default_factory=list)  # (line, answer) or (line, {"invalid": ...})
    bad_lines: set[int] = field(default_factory=set)  # lines that are no patient document


def screen_batch(reasoner, items: list[tuple[int, str | bytes]], today: dt.date | None = None) -> BatchResult:
    result = BatchResult()
    lines, patients = [], []
    for line, text in items:
        parsed = parse_line(reasoner, text, today)
        if isinstance(parsed, Violation):
            result.answers.append((line, {"invalid": [parsed.as_dict()]}))
            result.bad_lines.add(line)
        else:
            lines.append(line)
            patients.append(parsed)
    for line, (prepared, _), outcome in zip(lines, patients, reasoner.judge_many(patients), strict=True):
        if isinstance(outcome, Exception):
            raise outcome  # not a verdict on the patient but a failure: loud, never a row that looks answered
        violations, answer = outcome
        if violations:
            result.answers.append(
                (line, {"patient_id": prepared.patient_id, "invalid": [v.as_dict() for v in violations]})
            )
        else:
            result.answers.append((line, answer))
    result.answers.sort(key=lambda pair: pair[0])
    return result


@dataclass
class RenderedBatch:
    """A batch's output, rendered where it was computed (a worker), so the main process only writes text."""

    text: str = ""
    last_line: int = 0
    lines: int = 0
    invalid: int = 0
    bad_lines: int = 0
    rows: int = 0
    recommended_steps: Counter = field(default_factory=Counter)


def render_batch(result: BatchResult, fmt: str) -> RenderedBatch:
    rendered = RenderedBatch()
    buffer = io.StringIO()
    writer = csv.writer(buffer) if fmt == "csv" else None  # rows as lists: DictWriter's per-row dict walk cost 2x
    for line, answer in result.answers:
        rendered.lines += 1
        rendered.last_line = max(rendered.last_line, line)
        if line in result.bad_lines:
            rendered.bad_lines += 1
        elif "invalid" in answer:
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


def csv_rows(line: int, answer: dict) -> Iterator[list]:
    """The CSV rows of one answer, their values in CSV_FIELDS order."""
    if "invalid" in answer:
        reasons = "; ".join(f"{v['field']}: {v['message']}" for v in answer["invalid"])
        yield [line, answer.get("patient_id", ""), "invalid", "", "", "", "", reasons]
        return
    for option in answer["options"]:
        yield [
            line,
            answer["patient_id"],
            option["status"],
            option["step"]["label"],
            option["regimen"]["label"],
            " + ".join(option["regimen"]["drugs"]),
            "; ".join(option["missing"]),
            "; ".join(option["reasons"]),
        ]


_WORKER = None


def _init_worker(threads: int | None) -> None:
    """threads: 1 in a pool of worker processes (the processes share the cores), else the default."""
    global _WORKER
    from kg_service.service import Reasoner

    _WORKER = Reasoner(threads=threads)
    freeze_start_up_objects()


def _run(args: tuple[list[tuple[int, str | bytes]], dt.date | None, str]) -> RenderedBatch:
    items, today, fmt = args
    return render_batch(screen_batch(_WORKER, items, today), fmt)


def _bounded_map(pool: ProcessPoolExecutor, work: Iterator, window: int) -> Iterator[RenderedBatch]:
    """Like pool.map, in order, but with at most `window` batches in flight: Executor.map submits every batch
    at once, which held a 100,000-patient cohort in memory (3.2 GB resident)."""
    pending: deque = deque()
    for item in work:
        pending.append(pool.submit(_run, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def batches(lines: Iterable[str | bytes], size: int, after: int = 0) -> Iterator[list[tuple[int, str | bytes]]]:
    """The lines, numbered from 1, in batches of `size`; lines up to `after` (already screened) skipped."""
    batch: list[tuple[int, str | bytes]] = []
    for number, text in enumerate(lines, start=1):
        if number <= after:
            continue
        batch.append((number, text))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Summary:
    lines: int = 0  # every input line: patients (valid or invalid) and bad lines
    invalid: int = 0  # patient documents that are invalid or outside the pathway
    bad_lines: int = 0  # lines that are no patient document: empty, not UTF-8, not JSON
    rows: int = 0
    seconds: float = 0.0
    last_line: int = 0
    recommended_steps: Counter = field(default_factory=Counter)

    @property
    def patients(self) -> int:
        return self.lines - self.bad_lines

    def add(self, rendered: RenderedBatch) -> None:
        self.lines += rendered.lines
        self.invalid += rendered.invalid
        self.bad_lines += rendered.bad_lines
        self.rows += rendered.rows
        self.last_line = max(self.last_line, rendered.last_line)
        self.recommended_steps.update(rendered.recommended_steps)

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "invalid": self.invalid,
            "bad_lines": self.bad_lines,
            "rows": self.rows,
            "seconds": self.seconds,
            "last_line": self.last_line,
            "recommended_steps": dict(self.recommended_steps),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        return cls(**{**data, "recommended_steps": Counter(data["recommended_steps"])})

    def report(self) -> list[str]:
        rate = self.lines / self.seconds if self.seconds else 0.0
        out = [
            f"screened {self.lines} line(s) in {self.seconds:.1f} s ({rate:.0f}/s): {self.patients} patient(s), "
            f"{self.invalid} of them invalid; {self.bad_lines} bad line(s) (empty, not UTF-8 or not JSON); "
            f"each reported with its line number and skipped; {self.rows} row(s) written"
        ]
        out += [f"  {count:>8}  recommended: {step}" for step, count in self.recommended_steps.most_common()]
        return out


def screen(
    lines: Iterable[str | bytes],
    out,
    fmt: str = "csv",
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    today: dt.date | None = None,
    progress: bool = True,
    total: int | None = None,
    dask: str | None = None,
    summary: Summary | None = None,
    header: bool = True,
    checkpoint=None,
) -> Summary:
    """Screen `lines` into `out` (text, or binary: what is written is encoded as UTF-8). workers: processes
    (default: the cores); dask: a scheduler's address, to run the batches on its workers instead. A
    `summary` carried over from an interrupted run continues after its last line; `checkpoint(summary)` is
    called after each batch is written."""
    from tqdm import tqdm

    summary = summary or Summary()
    started = time.perf_counter() - summary.seconds
    binary = not isinstance(out, io.TextIOBase)

    def write(text: str) -> None:
        out.write(text.encode("utf-8") if binary else text)

    if header and fmt == "csv":
        buffer = io.StringIO()
        csv.DictWriter(buffer, fieldnames=CSV_FIELDS).writeheader()
        write(buffer.getvalue())
    bar = tqdm(total=total, initial=summary.last_line, unit="line", disable=not progress, file=sys.stderr)
    work = ((batch, today, fmt) for batch in batches(lines, batch_size, after=summary.last_line))
    workers = workers or default_workers()
    pool = None
    if dask:
        from kg_service.cohort.distributed import dask_map

        results = dask_map(dask, work)
    elif workers > 1:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(1,))
        results = _bounded_map(pool, work, window=4 * workers)
    else:
        _init_worker(None)
        results = map(_run, work)
    try:
        for rendered in results:
            write(rendered.text)
            summary.add(rendered)
            summary.seconds = time.perf_counter() - started
            if checkpoint is not None:
                checkpoint(summary)
            bar.update(rendered.lines)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    summary.seconds = time.perf_counter() - started
    return summary


class ResumeError(ValueError):
    """The interrupted run cannot be continued as asked."""


def screen_to_file(lines: Iterable[str | bytes], path: Path, fmt: str = "csv", resume: bool = False, **options):
    """screen() into `path` through `<path>.partial` and its checkpoint (see the module's docstring);
    resume: continue the run the checkpoint describes (same format, same reference date)."""
    partial = path.with_name(path.name + ".partial")
    marker = path.with_name(path.name + ".partial.json")
    state = None
    if resume and marker.exists():
        state = json.loads(marker.read_text(encoding="utf-8"))
        if state["format"] != fmt:
            raise ResumeError(f"{partial} was written as {state['format']}, not {fmt}")
    elif resume:
        raise ResumeError(f"nothing to resume: {marker} does not exist")
    today = options.pop("today", None)
    if state is not None:
        if today is not None and today.isoformat() != state["today"]:
            raise ResumeError(f"{partial} was screened as of {state['today']}, not {today.isoformat()}")
        today = dt.date.fromisoformat(state["today"])
    today = today or dt.datetime.now(dt.UTC).date()  # fixed for the run, and for its resumption
    if state is not None:
        handle = open(partial, "r+b")  # noqa: SIM115
        handle.truncate(state["offset"])  # a batch written after the checkpoint is written again
        handle.seek(state["offset"])
        summary = Summary.from_dict(state["summary"])
    else:
        handle = open(partial, "wb")  # noqa: SIM115
        summary = None

    def checkpoint(progress: Summary) -> None:
        handle.flush()
        data = {"format": fmt, "today": today.isoformat(), "offset": handle.tell(), "summary": progress.as_dict()}
        scratch = marker.with_name(marker.name + ".tmp")
        scratch.write_text(json.dumps(data), encoding="utf-8")
        os.replace(scratch, marker)

    try:
        if state is None:
            if fmt == "csv":
                buffer = io.StringIO()
                csv.DictWriter(buffer, fieldnames=CSV_FIELDS).writeheader()
                handle.write(buffer.getvalue().encode("utf-8"))
            checkpoint(Summary())
        result = screen(
            lines, handle, fmt=fmt, today=today, summary=summary, header=False, checkpoint=checkpoint, **options
        )
    finally:
        handle.close()
    os.replace(partial, path)
    marker.unlink()
    return result
