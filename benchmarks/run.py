"""Benchmarks: `python benchmarks/run.py` (add `--sizes 1000,10000,100000` for the full cohort run).

Prints, each with its baseline measured in the same run:
- start-up time and peak memory;
- one patient end to end (validate + derive + explain), in process: median and p99, on the embedded
  Oxigraph store with the compiled shapes, against the same pipeline on rdflib + pySHACL;
- cohort screening throughput (patients/s) for each size, against a floor of JSON parsing and RDF mapping
  alone (the work no engine can avoid);
- the HTTP API under load on 127.0.0.1 (bounded in count and time): requests/s, median and p99 latency;
- the machine's speed at the start and the end: a fixed pure-Python loop, so that runs on a shared machine
  whose speed varies can be compared.
Not part of the test suite; numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inputs import TODAY, run_threads, vignettes  # noqa: E402  (benchmarks/inputs.py)

from kg_service.cohort.screening import screen  # noqa: E402
from kg_service.cohort.synthetic import CohortGenerator  # noqa: E402
from kg_service.graph.loader import load_graph  # noqa: E402
from kg_service.reasoning.pipeline import EligibilityPipeline  # noqa: E402
from kg_service.service import Reasoner  # noqa: E402
from kg_service.store.rdflib_store import RdflibStore  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def bench_startup() -> Reasoner:
    started = time.perf_counter()
    reasoner = Reasoner(sparql_endpoint="")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"start-up: {seconds:.2f} s to load, check nothing, prepare everything; peak memory so far {peak:.0f} MB")
    return reasoner


def bench_one_patient(reasoner: Reasoner, patients: list[dict]) -> None:
    serial = Reasoner(graph=reasoner.graph, sparql_endpoint="", threads=1)
    for patient in patients:  # warm-up
        reasoner.recommend(patient, today=TODAY)
        serial.recommend(patient, today=TODAY)
    fast, one_thread = [], []
    for _ in range(10):  # interleaved, so that both see the same machine; 200 runs, so p99 is not the maximum
        for patient in patients:
            fast += timed(lambda p=patient: reasoner.recommend(p, today=TODAY), 1)
            one_thread += timed(lambda p=patient: serial.recommend(p, today=TODAY), 1)
    baseline = Reasoner(graph=reasoner.graph, sparql_endpoint="", validator="pyshacl")
    baseline.backend = RdflibStore(reasoner.graph)
    baseline.pipeline = EligibilityPipeline(baseline.backend)
    slow = []
    for patient in patients[:10]:
        slow += timed(lambda p=patient: baseline.recommend(p, today=TODAY), 1)
    med_fast, med_slow = statistics.median(fast), statistics.median(slow)
    print(
        f"one patient end to end (Oxigraph + compiled shapes, {reasoner.threads} query threads): median "
        f"{med_fast:.1f} ms, p99 {percentile(fast, 0.99):.1f} ms over {len(fast)} runs"
    )
    print(
        f"  the same on 1 query thread: median {statistics.median(one_thread):.1f} ms, "
        f"p99 {percentile(one_thread, 0.99):.1f} ms"
    )
    print(
        f"  baseline (rdflib + pySHACL, same queries and shapes): median {med_slow:.0f} ms, "
        f"p99 {percentile(slow, 0.99):.0f} ms over {len(slow)} runs"
    )
    print(f"  ratio: {med_slow / med_fast:.1f}x faster")


def bench_screening(graph, sizes: list[int], workers: int) -> None:
    generator = CohortGenerator(graph, TODAY)
    for size in sizes:
        lines = [json.dumps(p) for p in generator.cohort(size, seed=1)]
        out = io.StringIO()
        started = time.perf_counter()
        summary = screen(lines, out, workers=workers, progress=False, today=TODAY)
        seconds = time.perf_counter() - started
        rows = out.getvalue().count("\n") - 1
        floor_reasoner = Reasoner(graph=graph, sparql_endpoint="")
        floor_started = time.perf_counter()
        for line in lines:
            floor_reasoner.parse(line, "application/json", TODAY)
        floor = time.perf_counter() - floor_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"screening {size} patients on {workers} process(es): {seconds:.1f} s, {size / seconds:.0f} patients/s, "
            f"{rows} rows, {summary.invalid} invalid, peak memory {peak:.0f} MB (main process)"
        )
        print(
            f"  floor (JSON parsing and RDF mapping only, one process): {size / floor:.0f} patients/s; "
            f"screening runs at {floor / seconds * 100:.0f}% of it"
        )


def bench_api(patient: dict, requests: int, seconds_cap: float) -> None:
    import httpx

    from tests.live_server import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "kg_service.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        latencies: list[float] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds_cap
        body = json.dumps(patient)

        def worker(count: int) -> None:
            with httpx.Client(timeout=30) as client:
                for _ in range(count):
                    if time.monotonic() > stop_at:
                        return
                    started = time.perf_counter()
                    response = client.post(
                        f"{url}/v1/recommendations", content=body, headers={"content-type": "application/json"}
                    )
                    response.raise_for_status()
                    with lock:
                        latencies.append((time.perf_counter() - started) * 1000)

        threads = [threading.Thread(target=worker, args=(requests // 4,)) for _ in range(4)]
        elapsed = run_threads(threads)
        print(
            f"API under load (4 clients, 1 server process, POST /v1/recommendations): {len(latencies)} requests in "
            f"{elapsed:.1f} s = {len(latencies) / elapsed:.0f} req/s; median {statistics.median(latencies):.0f} ms, "
            f"p99 {percentile(latencies, 0.99):.0f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def machine_speed(when: str) -> None:
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    print(f"machine speed ({when}): 10 million additions in pure Python took {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="cohort sizes to screen, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api-requests", type=int, default=400)
    parser.add_argument("--api-seconds", type=float, default=60)
    args = parser.parse_args()
    machine_speed("start")
    reasoner = bench_startup()
    cases = vignettes()
    bench_one_patient(reasoner, cases[:20])
    bench_screening(load_graph(), [int(s) for s in args.sizes.split(",")], args.workers)
    bench_api(cases[2], args.api_requests, args.api_seconds)
    machine_speed("end")


if __name__ == "__main__":
    main()
