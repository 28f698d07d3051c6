"""Screening on a Dask cluster (`mbc-kg screen ... --dask tcp://scheduler:8786`): each batch is a task run on a
worker, which loads its own Reasoner (the embedded Oxigraph store) once, on its first batch; the rendered
batches come back in input order, with a bounded number in flight. A batch whose worker dies is run again
on another worker by the scheduler (distributed.scheduler.allowed-failures, 3 by default), so no row is
lost; a batch that raises stops the run, as it does locally. The workers need `mbc-kg` installed, the same
version as the client (docs/decisions/20261201-throughput.md)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Iterator

from kg_service.cohort.screening import RenderedBatch, render_batch, screen_batch
from kg_service.core.memory import freeze_start_up_objects

_reasoner = None
_lock = threading.Lock()


def _worker_reasoner():
    """This worker process's Reasoner: the embedded store whatever the environment says, one query thread
    (a worker's cores are its task threads'); once loaded, kept out of garbage collections, as in a local
    screening worker (core/memory.py)."""
    global _reasoner
    with _lock:
        if _reasoner is None:
            from kg_service.service import Reasoner

            _reasoner = Reasoner(sparql_endpoint="", threads=1)
            freeze_start_up_objects()
        return _reasoner


def run_batch(items: list[tuple[int, str | bytes]], today: dt.date | None, fmt: str) -> RenderedBatch:
    """One batch, on a worker."""
    return render_batch(screen_batch(_worker_reasoner(), items, today), fmt)


def dask_map(address: str, work: Iterator[tuple], window: int | None = None) -> Iterator[RenderedBatch]:
    """run_batch over `work` on the cluster at `address`, in order, with at most `window` batches in flight
    (default: twice the cluster's worker threads, at least 4)."""
    from distributed import Client

    client = Client(address, timeout=30, set_as_default=False)
    try:
        if window is None:
            window = max(4, 2 * sum(client.nthreads().values()))
        pending: deque = deque()
        try:
            for items, today, fmt in work:
                pending.append(client.submit(run_batch, items, today, fmt, pure=False))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
    finally:
        client.close()
