"""Where a screened patient's CPU time goes, phase by phase and step by step, in one process:

    python benchmarks/screening_phases.py                  # 2,000 synthetic patients in batches of 50
    python benchmarks/screening_phases.py --size 4000 --batch 100

The work of `mbc-kg screen`'s workers (cohort/screening.py screen_batch and render_batch), taken apart: parsing
and RDF mapping (the floor), loading the batch into a scratch store, validation, each derivation step, adding
each CONSTRUCT's triples to the patient graph, splitting the rows by patient, building the answers, and
writing the CSV rows. Each step is timed twice on the same batch: as the pipeline runs it (Oxigraph's
evaluation and the Python values of its rows or triples), and with the result only counted inside Oxigraph
(evaluation alone), so the difference is the cost of handing the result to Python. The batch is judged the
pipeline's way first, so that the second run reads the same graph. Not a test: the figures depend on the
machine; compare two commits by running this script for each in the same few minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inputs import TODAY  # noqa: E402

from kg_service.cohort import screening  # noqa: E402
from kg_service.cohort.synthetic import CohortGenerator  # noqa: E402
from kg_service.core.memory import freeze_start_up_objects  # noqa: E402
from kg_service.reasoning.answer import build_answer  # noqa: E402
from kg_service.reasoning.pipeline import Derivation  # noqa: E402
from kg_service.service import Reasoner  # noqa: E402

FLOOR = "parse and map (the floor)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000, help="synthetic patients (seed 3)")
    parser.add_argument("--batch", type=int, default=screening.BATCH_SIZE, help="patients a batch")
    args = parser.parse_args()
    if args.size < 1 or args.batch < 1:
        parser.error("--size and --batch must be at least 1")
    reasoner = Reasoner(sparql_endpoint="", threads=1)
    lines = [json.dumps(d) for d in CohortGenerator(reasoner.graph, TODAY).cohort(args.size, seed=3)]
    freeze_start_up_objects()  # as a screening worker does once it is loaded (core/memory.py)
    spent: dict[str, float] = defaultdict(float)
    alone: dict[str, float] = defaultdict(float)

    @contextmanager
    def clock(phase: str, into: dict = spent) -> Iterator[None]:
        begun = time.process_time()
        try:
            yield
        finally:
            into[phase] += time.process_time() - begun

    started = time.process_time()
    for first in range(0, len(lines), args.batch):
        kept = []
        for line, text in enumerate(lines[first : first + args.batch], start=first + 1):
            with clock(FLOOR):
                parsed = screening.parse_line(reasoner, text, TODAY)
            if not isinstance(parsed, screening.Violation):  # the synthetic cohort has no bad line
                kept.append((line, parsed))
        patients = [prepared for _, (prepared, _) in kept]
        with clock("load the batch"):
            loading = reasoner.backend.patient_graph([t for prepared in patients for t in prepared.graph])
            scope = loading.__enter__()
        try:
            with clock("validate"):
                reasoner.compiled_shapes.validate(scope, 1)
            rows: dict[str, list] = {}
            for step in reasoner.pipeline.steps:
                with clock(step.name):
                    output = reasoner.pipeline.run_step(scope, step)
                if step.is_construct:
                    with clock("add CONSTRUCT triples"):
                        scope.add_derived(output)
                else:
                    rows[step.name] = output
                with clock(step.name, alone):  # the same query, its result only counted inside Oxigraph
                    sum(1 for _ in scope.store.query(step.text, default_graph=scope.default_graph))
        finally:
            with clock("load the batch"):
                loading.__exit__(None, None, None)
        with clock("split by patient"):
            split = reasoner._split(Derivation(rows=rows), [prepared.patient for prepared in patients])
        answers = []
        for line, (prepared, _) in kept:
            with clock("build answers"):
                answer = build_answer(prepared.patient_id, reasoner.catalog, split[prepared.patient], prepared.warnings)
            answers.append((line, answer))
        with clock("write CSV rows"):
            screening.render_batch(screening.BatchResult(answers=answers), "csv")
    total = time.process_time() - started - sum(alone.values())
    per = 1000 / len(lines)
    print(f"{len(lines)} patients in batches of {args.batch}: {total * per:.2f} ms of CPU a patient, by phase")
    print(f"{'phase':40} {'ms a patient':>12} {'share':>6} {'Oxigraph alone':>15}")
    for phase, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        extra = f"{alone[phase] * per:15.3f}" if phase in alone else ""
        print(f"{phase:40} {seconds * per:12.3f} {seconds / total:6.1%} {extra}")
    steps = sum(spent[s.name] for s in reasoner.pipeline.steps)
    together = f"{steps * per:12.3f} {steps / total:6.1%} {sum(alone.values()) * per:15.3f}"
    print(f"{'derivation steps together':40} {together}")
    rest = total - sum(spent.values())
    print(f"{'the rest (batching, bookkeeping)':40} {rest * per:12.3f} {rest / total:6.1%}")


if __name__ == "__main__":
    main()
