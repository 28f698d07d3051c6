"""API throughput with and without micro-batching: `python benchmarks/api_batching.py`.

Starts two servers on 127.0.0.1 (uvicorn, one process each, started side by side, measured one at a time):
- batching: the defaults (MBC_KG_BATCH_MAX=16, one engine thread that takes every waiting request);
- baseline: MBC_KG_BATCH_MAX=1 with MBC_KG_BATCH_WORKERS=16, so that each request is judged alone on its own
  thread, as the server did before batching (one pool thread per request).
For 1, 4 and 16 concurrent clients (each posting different patients: the vignettes and a synthetic cohort,
round robin) it prints requests/s, median and p99 latency of each server, alternating the two, and the
ratios. Not a test: the figures depend on the machine (and on what else runs on it: the load average is
printed at the start and the end).

The clients are Python threads (httpx) by default: they take a share of the same 2 cores as the server,
more of it the more clients there are. `--generator wrk` drives the same bodies with wrk (Debian's `wrk`
package: one native thread, 1, 4 or 16 connections, a Lua script that posts the bodies round robin and
counts any answer other than 200 or 422), which leaves the server nearly all of the machine; its
percentiles are wrk's (`--latency`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inputs import TODAY, port_in, vignettes  # noqa: E402

from kg_service.cohort.synthetic import CohortGenerator  # noqa: E402
from kg_service.graph.loader import load_graph  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = port_in(18640, 18649)
    command = [sys.executable, "-m", "uvicorn", "kg_service.api:app", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{url}/health", timeout=2)
            return server, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def load(url: str, bodies: list[bytes], clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as session:
            position = number
            while time.monotonic() < stop_at:
                body = bodies[position % len(bodies)]
                position += clients
                started = time.perf_counter()
                response = session.post(
                    f"{url}/v1/recommendations", content=body, headers={"content-type": "application/json"}
                )
                if response.status_code not in (200, 422):  # some vignettes are refused patients
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


WRK_SCRIPT = """
bodies = {%s}
threads = {}
function setup(thread) table.insert(threads, thread); thread:set("first", #threads * 7) end
function init(args) position = first; unexpected = 0 end
function request()
  position = position + 1
  return wrk.format("POST", "/v1/recommendations", {["Content-Type"] = "application/json"},
                    bodies[(position %% #bodies) + 1])
end
function response(status, headers, body) if status ~= 200 and status ~= 422 then unexpected = unexpected + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("unexpected") end
  io.write(string.format("unexpected %%d\\n", total))
end
"""


def load_wrk(url: str, script: Path, clients: int, seconds: float) -> tuple[float, list[float]]:
    """wrk's requests/s and its median and p99 latency (ms), as a two-value list for the same report."""
    import re

    output = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    unexpected = int(re.search(r"unexpected (\d+)", output).group(1))
    if unexpected or "Socket errors" in output:
        raise RuntimeError(f"wrk saw {unexpected} answers other than 200/422, or socket errors:\n{output}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return rate, [ms("50%"), ms("99%")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each server at each load")
    parser.add_argument("--batch-workers", default="1", help="MBC_KG_BATCH_WORKERS of the batching servers, e.g. 1,2")
    parser.add_argument("--generator", choices=["python", "wrk"], default="python", help="the clients (see above)")
    args = parser.parse_args()
    if args.generator == "wrk" and not shutil.which("wrk"):
        parser.error("--generator wrk needs wrk on the PATH (apt-get install wrk)")
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min), cores: {os.cpu_count()}")
    documents = vignettes()
    documents += list(CohortGenerator(load_graph(), TODAY).cohort(200, seed=5))
    bodies = [json.dumps(d).encode() for d in documents]
    run = load
    if args.generator == "wrk":
        if any(b"]==]" in body for body in bodies):
            raise SystemExit("a body holds ]==], which ends a Lua long string")
        script = Path(tempfile.mkdtemp()) / "post.lua"
        quoted = ",\n".join("[==[" + body.decode() + "]==]" for body in bodies)
        script.write_text(WRK_SCRIPT % quoted, encoding="utf-8")

        def run(url: str, _: list[bytes], clients: int, seconds: float) -> tuple[float, list[float]]:
            return load_wrk(url, script, clients, seconds)

    print(f"clients: {args.generator}")
    env_common = {"MBC_KG_SPARQL_ENDPOINT": ""}
    servers = {"baseline": start({**env_common, "MBC_KG_BATCH_MAX": "1", "MBC_KG_BATCH_WORKERS": "16"})}
    for workers in args.batch_workers.split(","):
        name = "batching" if workers == "1" else f"batching, {workers} engine threads"
        servers[name] = start({**env_common, "MBC_KG_BATCH_MAX": "16", "MBC_KG_BATCH_WORKERS": workers})
    try:
        for _, url in servers.values():  # warm-up
            run(url, bodies, 4, 2.0)
        results: dict[tuple[str, int], list[tuple[float, list[float]]]] = {}
        for clients in [int(c) for c in args.clients.split(",")]:
            for _ in range(args.rounds):
                for name, (_, url) in servers.items():
                    results.setdefault((name, clients), []).append(run(url, bodies, clients, args.seconds))
        one = {name: statistics.median(r for r, _ in results[(name, 1)]) for name in servers if (name, 1) in results}
        for (name, clients), runs in results.items():
            rates = [rate for rate, _ in runs]
            rate = statistics.median(rates)
            if args.generator == "wrk":  # each run gives its own median and p99: their median, and the worst p99
                median = statistics.median(values[0] for _, values in runs)
                p99 = max(values[1] for _, values in runs)
            else:
                latencies = [value for _, values in runs for value in values]
                median, p99 = statistics.median(latencies), percentile(latencies, 0.99)
            line = (
                f"{name} {clients:>2} client(s): {rate:6.1f} req/s (runs: {', '.join(f'{r:.1f}' for r in rates)}), "
                f"median {median:.0f} ms, p99 {p99:.0f} ms"
            )
            if name in one and clients > 1:
                line += f"; {rate / one[name]:.2f}x its 1-client rate"
            if name != "baseline" and ("baseline", clients) in results:
                base = statistics.median(r for r, _ in results[("baseline", clients)])
                line += f"; {rate / base:.2f}x the baseline"
            print(line)
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    main()
