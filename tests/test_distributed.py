"""Screening on a Dask cluster (issue 17): the distributed run writes the bytes the local run writes, bad lines
included, and a worker killed mid-run loses no row. Needs a running scheduler at $MBC_KG_DASK_SCHEDULER
(.ci/run starts one with two workers on 127.0.0.1 and always sets it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from kg_service.cli import main as cli_main
from kg_service.cohort.screening import screen_to_file
from kg_service.cohort.synthetic import CohortGenerator

from .conftest import TODAY
from .live_server import free_port

ADDRESS = os.environ.get("MBC_KG_DASK_SCHEDULER", "")
pytestmark = pytest.mark.skipif(not ADDRESS, reason="MBC_KG_DASK_SCHEDULER is not set (.ci/run sets it)")


@pytest.fixture(autouse=True)
def embedded_store(monkeypatch):
    # the local run on the embedded store, as on the cluster's workers (the remote back end has its own tests)
    monkeypatch.delenv("MBC_KG_SPARQL_ENDPOINT", raising=False)


def _cohort(graph, tmp_path, n: int, seed: int):
    lines = [json.dumps(d).encode() + b"\n" for d in CohortGenerator(graph, TODAY).cohort(n, seed=seed)]
    lines.insert(4, b'{"id": "caf\xe9"}\n')  # not UTF-8
    lines.insert(7, b"\n")
    lines.insert(11, b"{not json\n")
    lines.insert(15, json.dumps({"id": "early", "stage": "early", "er": "positive", "her2": {"ihc": "1+"}}).encode())
    lines[15] += b"\n"
    path = tmp_path / "cohort.ndjson"
    path.write_bytes(b"".join(lines))
    return path


def test_the_distributed_run_writes_the_bytes_of_the_local_run(graph, tmp_path, capsys):
    cohort = _cohort(graph, tmp_path, 60, seed=21)
    local, distributed = tmp_path / "local.csv", tmp_path / "distributed.csv"
    common = ["--no-progress", "--batch-size", "7", "--today", "2026-11-25"]
    assert cli_main(["screen", str(cohort), "--out", str(local), "--workers", "1", *common]) == 0
    local_report = capsys.readouterr().err.splitlines()
    assert cli_main(["screen", str(cohort), "--out", str(distributed), "--dask", ADDRESS, *common]) == 0
    distributed_report = capsys.readouterr().err.splitlines()
    assert distributed.read_bytes() == local.read_bytes()
    assert "64 line(s)" in local_report[0] and "1 of them invalid; 3 bad line(s)" in local_report[0]

    def untimed(report: list[str]) -> list[str]:
        return [line.split(": ", 1)[1] if line.startswith("screened") else line for line in report]

    assert untimed(local_report) == untimed(distributed_report)
    text = local.read_text(encoding="utf-8")
    assert "not valid UTF-8" in text and "the line is empty" in text and "not valid JSON" in text


def test_a_worker_killed_mid_run_loses_no_row(graph, tmp_path):
    from distributed import Client

    cohort = _cohort(graph, tmp_path, 150, seed=22)
    local, distributed = tmp_path / "local.csv", tmp_path / "distributed.csv"
    lines = cohort.read_bytes().splitlines(keepends=True)
    screen_to_file(lines, local, workers=1, batch_size=5, today=TODAY, progress=False)

    name = f"doomed-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "distributed.cli.dask_worker", ADDRESS, "--name", name, "--nthreads", "1"]
    command += ["--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--worker-port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if k != "MBC_KG_SPARQL_ENDPOINT"}
    doomed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(ADDRESS, timeout=30, set_as_default=False)
    try:
        address = None
        deadline = time.monotonic() + 120
        while address is None and time.monotonic() < deadline:
            workers = client.scheduler_info(n_workers=-1)["workers"]
            address = next((a for a, w in workers.items() if w.get("name") == name), None)
            time.sleep(0.1)
        assert address is not None, "the extra worker did not join the cluster"

        outcome: dict = {}

        def run() -> None:
            try:
                outcome["summary"] = screen_to_file(
                    lines, distributed, batch_size=5, today=TODAY, progress=False, dask=ADDRESS
                )
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = exc

        runner = threading.Thread(target=run)
        runner.start()
        killed = False
        while runner.is_alive() and not killed:
            if client.processing(workers=[address]).get(address):  # the worker holds a batch: kill it now
                doomed.send_signal(signal.SIGKILL)
                killed = True
            time.sleep(0.02)
        runner.join(timeout=600)
        assert killed, "the extra worker was given no batch before the run ended"
        assert "error" not in outcome, outcome.get("error")
        assert distributed.read_bytes() == local.read_bytes()
        assert outcome["summary"].lines == len(lines)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.wait()
        client.close()
