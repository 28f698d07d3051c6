"""What each query of a request costs, and how much of it no patient data causes.

    python benchmarks/query_costs.py                      # per query: empty patient graph vs a patient
    python benchmarks/query_costs.py --export bundle.json # the graph, the vignettes' triples, the queries
    PYTHONPATH=/tmp/ox04 python benchmarks/query_costs.py --bundle bundle.json   # any pyoxigraph version

A request runs the patient-shape queries and the 17 derivation queries. pyoxigraph parses and plans a query
on every call (it has no prepared queries), so part of each query's time is paid whatever the patient: the
first mode times every query on an empty patient graph (the median of --repeat runs: parsing, planning, and
the graph-side work) against its median over the vignettes (the derivation run step by step, each
CONSTRUCT's triples added before the next step, the adding not timed), and prints the share that is fixed.
`--overlap` times the costliest query on an empty graph run 2 x N times on one thread and split over two:
how far planning, the bulk of it, overlaps on this machine's cores.

`--bundle` runs the same request (shape queries, then the steps in name order) with nothing but pyoxigraph,
so that another pyoxigraph release can be timed on the same work after `pip install --target DIR
pyoxigraph==VERSION`: it prints the version, the time a patient takes, and a digest of every answer (equal
digests: identical answers). Not part of the test suite; figures depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATIENT_GRAPH = "urn:mbc-kg:patient-graph"


def _requests():
    sys.path.insert(0, str(ROOT))
    from inputs import TODAY, vignettes

    from kg_service.service import Reasoner

    reasoner = Reasoner(sparql_endpoint="", threads=1)
    patients = [reasoner.parse(document, today=TODAY)[0].graph for document in vignettes()]
    return reasoner, patients


def per_query(repeat: int) -> None:
    reasoner, patients = _requests()
    shapes = [(f"shapes {n}", text) for n, text in enumerate(reasoner.compiled_shapes.texts)]
    steps = reasoner.pipeline.steps

    def timed(run) -> float:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    empty: dict[str, float] = {}
    with reasoner.store.patient_graph([]) as scope:
        for name, text in shapes:
            empty[name] = statistics.median(
                timed(lambda t=text: scope.select(t, patient_only=True)) for _ in range(repeat)
            )
        for step in steps:
            empty[step.name] = statistics.median(
                timed(lambda s=step: reasoner.pipeline.run_step(scope, s)) for _ in range(repeat)
            )
    loaded: dict[str, list[float]] = {name: [] for name in empty}
    for _ in range(max(1, repeat // 10)):
        for triples in patients:
            with reasoner.store.patient_graph(triples) as scope:
                for name, text in shapes:
                    loaded[name].append(timed(lambda t=text: scope.select(t, patient_only=True)))
                for step in steps:
                    started = time.perf_counter()
                    output = reasoner.pipeline.run_step(scope, step)
                    loaded[step.name].append(time.perf_counter() - started)
                    if step.is_construct:
                        scope.add_derived(output)
    print(f"{'query':40} {'empty graph':>12} {'a patient':>10}  (ms; median of {repeat} runs / of the vignettes)")
    for name in empty:
        print(f"{name:40} {empty[name] * 1e3:12.3f} {statistics.median(loaded[name]) * 1e3:10.3f}")
    fixed = sum(empty.values())
    total = sum(statistics.median(times) for times in loaded.values())
    print(f"{'all ' + str(len(empty)) + ' queries':40} {fixed * 1e3:12.3f} {total * 1e3:10.3f}")
    print(f"paid whatever the patient: {fixed / total:.0%} of the queries' time")


def overlap(runs: int, rounds: int = 3) -> None:
    from concurrent.futures import ThreadPoolExecutor

    reasoner, _ = _requests()
    pool = ThreadPoolExecutor(1)
    with reasoner.store.patient_graph([]) as scope:

        def cost(step) -> float:
            started = time.perf_counter()
            reasoner.pipeline.run_step(scope, step)
            return time.perf_counter() - started

        step = max(reasoner.pipeline.steps, key=lambda s: min(cost(s) for _ in range(3)))

        def job() -> None:
            for _ in range(runs):
                reasoner.pipeline.run_step(scope, step)

        for _ in range(rounds):
            started = time.perf_counter()
            job()
            job()
            one = time.perf_counter() - started
            started = time.perf_counter()
            other = pool.submit(job)
            job()
            other.result()
            two = time.perf_counter() - started
            times = f"one thread {one * 1e3:.1f} ms, two threads {two * 1e3:.1f} ms"
            print(f"{step.name} x {2 * runs}: {times}: {one / two:.2f}x")


def export(path: Path) -> None:
    from rdflib import Graph

    reasoner, patients = _requests()

    def ntriples(triples) -> str:
        graph = Graph()
        for triple in triples:
            graph.add(triple)
        return graph.serialize(format="nt", encoding="utf-8").decode("utf-8")

    bundle = {
        "graph": reasoner.graph.serialize(format="nt", encoding="utf-8").decode("utf-8"),
        "patients": [ntriples(triples) for triples in patients],
        "shapes": reasoner.compiled_shapes.texts,
        "steps": [[step.name, step.text, step.is_construct] for step in reasoner.pipeline.steps],
    }
    path.write_text(json.dumps(bundle), encoding="utf-8")
    counts = {key: len(bundle[key]) for key in ("patients", "shapes", "steps")}
    print(f"{path}: {counts['patients']} patients, {counts['shapes']} shape queries, {counts['steps']} steps")


def run_bundle(path: Path, rounds: int) -> None:
    import pyoxigraph as ox

    bundle = json.loads(path.read_text(encoding="utf-8"))
    name = ox.NamedNode(PATIENT_GRAPH)

    def load(store, text: str, graph) -> None:
        try:  # pyoxigraph 0.4 and later
            store.load(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        except AttributeError:  # 0.3
            store.load(io.BytesIO(text.encode("utf-8")), "application/n-triples", to_graph=graph)

    def request(store, patient: str) -> list[list[str]]:
        load(store, patient, name)
        answers = []
        for text in bundle["shapes"]:
            result = store.query(text, default_graph=[name])
            answers.append(sorted(str([row[v] for v in result.variables]) for row in result))
        for _, text, is_construct in bundle["steps"]:
            result = store.query(text, default_graph=[ox.DefaultGraph(), name])
            if is_construct:
                triples = list(result)
                for triple in triples:
                    store.add(ox.Quad(triple.subject, triple.predicate, triple.object, name))
                answers.append(sorted({str(triple) for triple in triples}))  # a graph: a set
            else:
                answers.append(sorted(str([row[v] for v in result.variables]) for row in result))
        store.remove_graph(name)
        return answers

    def fresh():
        store = ox.Store()
        load(store, bundle["graph"], ox.DefaultGraph())
        return store

    queries = len(bundle["shapes"]) + len(bundle["steps"])
    store = fresh()
    digest = hashlib.sha256(json.dumps([request(store, p) for p in bundle["patients"]]).encode()).hexdigest()
    times = []
    for _ in range(rounds):
        for patient in bundle["patients"]:
            store = fresh()  # removed quads linger in an in-memory store's indexes (see kg_service/store.py)
            started = time.perf_counter()
            request(store, patient)
            times.append(time.perf_counter() - started)
    print(
        f"pyoxigraph {ox.__version__}: one patient ({queries} queries, 1 thread) median "
        f"{statistics.median(times) * 1e3:.2f} ms, best {min(times) * 1e3:.2f} ms; answers sha256 {digest[:16]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help="runs of each query on the empty graph (default 30)")
    parser.add_argument("--export", type=Path, help="write the bundle that --bundle runs, and stop")
    parser.add_argument("--bundle", type=Path, help="run a bundle with pyoxigraph alone")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the bundle's patients (default 3)")
    parser.add_argument(
        "--overlap", type=int, metavar="N", help="time the costliest query 2 x N times on 1 and 2 threads"
    )
    args = parser.parse_args()
    if args.export:
        export(args.export)
    elif args.overlap:
        overlap(args.overlap)
    elif args.bundle:
        run_bundle(args.bundle, args.rounds)
    else:
        per_query(args.repeat)


if __name__ == "__main__":
    main()
