"""The micro-batcher without HTTP: `python benchmarks/engine_batching.py --clients 16 --seconds 10`.

In one process, N client threads each parse a patient (Reasoner.parse, as the server's pool threads do) and
submit it to a Batcher (kg_service/http/batching.py, the server's settings) in a closed loop, over the
vignettes and a synthetic cohort, round robin, as benchmarks/api_batching.py posts them. It prints
requests/s, median and p99 latency, and the batches' sizes and times: the ceiling the engine gives the API,
to set against api_batching.py's figures, whose difference is the HTTP layer's share. Start-up objects are
frozen out of garbage collections as in the server (kg_service/core/memory.py). Not a test: the figures
depend on the machine; the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inputs import TODAY, run_threads, vignettes  # noqa: E402

from kg_service.cohort.synthetic import CohortGenerator  # noqa: E402
from kg_service.core.memory import freeze_start_up_objects  # noqa: E402
from kg_service.http.batching import Batcher, BatchSettings  # noqa: E402
from kg_service.service import Reasoner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min), cores: {os.cpu_count()}")
    reasoner = Reasoner(sparql_endpoint="")
    documents = vignettes() + list(CohortGenerator(reasoner.graph, TODAY).cohort(200, seed=5))
    bodies = [json.dumps(d).encode() for d in documents]
    freeze_start_up_objects()
    settings = BatchSettings.from_environment()
    batcher = Batcher(reasoner, settings)
    batches: list[tuple[int, float]] = []
    judge_many = reasoner.judge_many

    def timed(patients, derive=True):
        started = time.perf_counter()
        outcome = judge_many(patients, derive)
        batches.append((len(patients), time.perf_counter() - started))
        return outcome

    reasoner.judge_many = timed
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client(number: int) -> None:
        position = number
        while time.monotonic() < stop_at:
            body = bodies[position % len(bodies)]
            position += args.clients
            started = time.perf_counter()
            parsed = reasoner.parse(body, "application/json")
            batcher.submit(*parsed, derive=True).result()
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    elapsed = run_threads(threads)
    batcher.close()
    latencies.sort()
    print(
        f"{args.clients} client(s), {settings}: {len(latencies) / elapsed:.1f} req/s, "
        f"median {statistics.median(latencies):.0f} ms, p99 {latencies[int(0.99 * (len(latencies) - 1))]:.0f} ms"
    )
    times = sorted(t * 1000 for _, t in batches)
    sizes = collections.Counter(size for size, _ in batches)
    print(
        f"{len(batches)} batches; sizes (size: count) {dict(sorted(sizes.items()))}; "
        f"time median {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
