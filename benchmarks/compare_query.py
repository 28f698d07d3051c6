"""Compare a rewrite of one derivation query with the query in queries/eligibility/: same rows? how fast?

    python benchmarks/compare_query.py 40-biomarker-criteria my-variant.rq --sizes 1,5,20,50

Patients (the clinical vignettes, and a synthetic cohort) are loaded in batches of each size; the pipeline
runs up to the step; then the step's query and the variant run on the same data. Prints, for each size
and patient set, how many batches gave different rows (or triples) and the median time of each, in ms a
batch. Every query rewrite in the changelog was checked this way. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inputs import TODAY, vignettes  # noqa: E402  (benchmarks/inputs.py)

from kg_service.cohort.synthetic import CohortGenerator  # noqa: E402
from kg_service.service import Reasoner  # noqa: E402


def canonical(result) -> list:
    if isinstance(result, ox.QueryTriples):
        return sorted(str(triple) for triple in result)
    names = [v.value for v in result.variables]
    return sorted(tuple("" if row[n] is None else str(row[n]) for n in names) for row in result)


def median_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", help="the step's file name without .rq, e.g. 40-biomarker-criteria")
    parser.add_argument("variant", type=Path, help="the rewritten query")
    parser.add_argument("--sizes", default="1,5,20,50", help="batch sizes, comma-separated")
    parser.add_argument("--synthetic", type=int, default=400, help="synthetic patients (seed 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each query on each batch")
    args = parser.parse_args()
    reasoner = Reasoner(sparql_endpoint="", threads=1)
    steps = {step.name: step.text for step in reasoner.pipeline.steps}
    if args.step not in steps:
        parser.error(f"no step {args.step!r}; the steps are: {', '.join(steps)}")
    if not args.variant.is_file():
        parser.error(f"no file {args.variant}")
    original, variant = steps[args.step], args.variant.read_text(encoding="utf-8")
    cases = vignettes()
    synthetic = list(CohortGenerator(reasoner.graph, TODAY).cohort(args.synthetic, seed=1))
    for size in (int(s) for s in args.sizes.split(",")):
        for label, patients in (("vignettes", cases), ("synthetic", synthetic)):
            differing, times_original, times_variant = 0, [], []
            for start in range(0, len(patients), size):
                triples: list = []
                for document in patients[start : start + size]:
                    prepared, _ = reasoner.parse(document, today=TODAY)
                    triples.extend(prepared.graph)
                with reasoner.backend.patient_graph(triples) as scope:
                    for step in reasoner.pipeline.steps:  # the earlier steps, one by one
                        if step.name == args.step:
                            break
                        if step.is_construct:
                            scope.add_derived(scope.construct(step.text))

                    def run(text: str, scope=scope):
                        return scope.store.query(text, default_graph=scope.default_graph)

                    if canonical(run(original)) != canonical(run(variant)):
                        differing += 1
                    times_original.append(median_ms(lambda: list(run(original)), args.repeat))
                    times_variant.append(median_ms(lambda: list(run(variant)), args.repeat))
            print(
                f"batches of {size}, {label}: {len(times_original)} batches, {differing} with different results; "
                f"ms a batch: current {statistics.median(times_original):.2f}, "
                f"variant {statistics.median(times_variant):.2f}"
            )


if __name__ == "__main__":
    main()
