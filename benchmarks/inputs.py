"""What every benchmark runs on: the clinical vignettes of the test suite, judged as of a fixed day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 25)


def vignettes() -> list[dict]:
    """The patient documents of tests/vignettes/, in file-name order."""
    paths = sorted((ROOT / "tests" / "vignettes").glob("*.json"))
    return [json.loads(path.read_text(encoding="utf-8"))["patient"] for path in paths]


def port_in(low: int, high: int) -> int:
    """A free port of this project's benchmark range on 127.0.0.1 (issue 17's: 18600-18699)."""
    import socket

    for port in range(low, high + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def run_threads(threads: list) -> float:
    """Start the threads together, wait for all of them; the wall time it took, in seconds."""
    import time

    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
