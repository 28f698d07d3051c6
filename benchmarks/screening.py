"""Screening throughput against its floor, by batch size, and on a local Dask cluster against the local run:
`python benchmarks/screening.py --size 10000` (add `--dask` for the distributed run).

In one run, on one synthetic cohort (`mbc-kg synth --seed 1 --today 2026-11-25`):
- the floor: JSON parsing and RDF mapping alone (Reasoner.parse on every line), one process: the work no
  engine can avoid;
- `mbc-kg screen` as a user runs it (default workers: the cores) at each batch size, wall time, patients/s,
  the share of the floor's rate, and the largest resident memory of any process; every batch size must
  write the same bytes;
- with --dask: a scheduler and 2 workers (1 thread each) on 127.0.0.1, warmed up by one run (each worker
  loads its Reasoner once), then the distributed run and the local run alternately, with the ratio of
  their times; the bytes must be the same.
Not a test: the figures depend on the machine; the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inputs import TODAY, port_in  # noqa: E402

ENV = {**os.environ, "MBC_KG_SPARQL_ENDPOINT": ""}


CPU = {"last": 0.0}  # CPU seconds (user + system) of the last mbc-kg run and every process it started


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mbc_kg(*args: str) -> float:
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kg_service", *args], check=True, env=ENV, stderr=subprocess.DEVNULL)
    CPU["last"] = children_cpu() - cpu
    return time.perf_counter() - started


def floor_rate(cohort: Path, limit: int) -> float:
    from kg_service.service import Reasoner

    reasoner = Reasoner(sparql_endpoint="", threads=1)
    lines = cohort.read_bytes().splitlines()[:limit]
    started, cpu = time.perf_counter(), time.process_time()
    for line in lines:
        reasoner.parse(line, "application/json", TODAY)
    CPU["floor"] = (time.process_time() - cpu) / len(lines)
    return len(lines) / (time.perf_counter() - started)


def start_cluster() -> tuple[list[subprocess.Popen], str]:
    port = port_in(18650, 18659)
    address = f"tcp://127.0.0.1:{port}"
    dask = shutil.which("dask") or "dask"
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    workers = subprocess.Popen(
        [dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"]
        + ["--worker-port", "18660:18664", "--nanny-port", "18665:18669"],
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    return [workers, scheduler], address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--batch-sizes", default="50,100")
    parser.add_argument("--workers", type=int, help="default: the cores, as mbc-kg screen")
    parser.add_argument("--dask", action="store_true", help="also the distributed run on a local cluster")
    parser.add_argument("--dask-rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min), cores: {os.cpu_count()}")
    workdir = Path(tempfile.mkdtemp(prefix="mbc-kg-screening-"))
    try:
        cohort = workdir / "cohort.ndjson"
        mbc_kg("synth", "--n", str(args.size), "--seed", "1", "--today", TODAY.isoformat(), "--out", str(cohort))
        floor = floor_rate(cohort, min(args.size, 5_000))
        print(f"floor (JSON parsing and RDF mapping only, one process, wall time): {floor:.0f} patients/s")
        common = ["--no-progress", "--today", TODAY.isoformat()]
        if args.workers:
            common += ["--workers", str(args.workers)]
        reference = None
        for size in [int(s) for s in args.batch_sizes.split(",")]:
            out = workdir / f"batch-{size}.csv"
            seconds = mbc_kg("screen", str(cohort), "--out", str(out), "--batch-size", str(size), *common)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            rate = args.size / seconds
            written = out.read_bytes()
            same = "" if reference is None else (", same bytes" if written == reference else ", DIFFERENT BYTES")
            reference = reference or written
            cpu = CPU["last"] / args.size
            share = CPU["floor"] * (os.cpu_count() or 1) / cpu * 100
            print(
                f"screen {args.size} patients, batches of {size}: {seconds:.1f} s, {rate:.0f} patients/s = "
                f"{rate / floor * 100:.0f}% of the floor's rate; largest process so far {peak:.0f} MB{same}"
            )
            print(
                f"  CPU time: {cpu * 1000:.2f} ms a patient (every process, start-up included) against the floor's "
                f"{CPU['floor'] * 1000:.2f} ms: on {os.cpu_count()} free cores that is "
                f"{(os.cpu_count() or 1) / cpu:.0f} patients/s, {share:.0f}% of the floor's rate"
            )
        again = floor_rate(cohort, min(args.size, 5_000))
        print(f"floor again, after the local runs: {again:.0f} patients/s (the machine's speed moved by that much)")
        if args.dask:
            processes, address = start_cluster()
            try:
                warm = mbc_kg("screen", str(cohort), "--out", str(workdir / "warm.csv"), "--dask", address, *common)
                print(f"distributed warm-up (each worker loads its Reasoner): {warm:.1f} s")
                local_times, dask_times = [], []
                for _ in range(args.dask_rounds):
                    local_times.append(mbc_kg("screen", str(cohort), "--out", str(workdir / "local.csv"), *common))
                    dask_times.append(
                        mbc_kg("screen", str(cohort), "--out", str(workdir / "dask.csv"), "--dask", address, *common)
                    )
                same = (workdir / "local.csv").read_bytes() == (workdir / "dask.csv").read_bytes()
                local, distributed = statistics.median(local_times), statistics.median(dask_times)
                print(
                    f"local run (processes: {args.workers or os.cpu_count()}): {local:.1f} s; distributed on 2 local "
                    f"workers: {distributed:.1f} s = {distributed / local:.2f}x the local time "
                    f"(runs: {local_times} / {dask_times}); {'same bytes' if same else 'DIFFERENT BYTES'}"
                )
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(timeout=60)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
