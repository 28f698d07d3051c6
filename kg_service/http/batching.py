"""Micro-batching of patient requests: requests that arrive while the engine is busy are evaluated together.

A request is parsed on the caller's thread, then queued. Each of `workers` engine threads takes the first
waiting request, and with it every other one already waiting, up to `max_batch`, and evaluates them as one
batch (Reasoner.judge_many: one patient graph, each query once for the whole batch). Nothing waits for a
batch to fill: an idle engine takes a lone request at once. Past `max_queue` waiting requests a new one is
refused (QueueFull, a 503 with Retry-After), so that a burst cannot make every request wait without bound.

Settings (environment, read at start-up): MBC_KG_BATCH_MAX (16; 1 evaluates each request alone),
MBC_KG_QUEUE_MAX (64), MBC_KG_BATCH_WORKERS (1).
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from kg_service.core.errors import Violation
from kg_service.http import state
from kg_service.service import PreparedPatient, Reasoner


class QueueFull(Exception):
    """More requests are waiting than the queue bound allows."""

    def __init__(self, waiting: int, retry_after: int = 1):
        super().__init__(f"{waiting} requests are already waiting for the engine; retry in {retry_after} s")
        self.retry_after = retry_after


def _setting(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


@dataclass(frozen=True)
class BatchSettings:
    max_batch: int = 16
    max_queue: int = 64
    workers: int = 1

    @classmethod
    def from_environment(cls) -> BatchSettings:
        return cls(
            max_batch=_setting("MBC_KG_BATCH_MAX", cls.max_batch, 1),
            max_queue=_setting("MBC_KG_QUEUE_MAX", cls.max_queue, 1),
            workers=_setting("MBC_KG_BATCH_WORKERS", cls.workers, 1),
        )


@dataclass
class _Item:
    prepared: PreparedPatient
    violations: list[Violation]
    derive: bool
    future: Future


_STOP = object()


class Batcher:
    """Evaluates queued patients in batches on `settings.workers` threads (see the module's docstring)."""

    def __init__(self, reasoner: Reasoner, settings: BatchSettings | None = None):
        self.reasoner = reasoner
        self.settings = settings or BatchSettings.from_environment()
        self._queue: queue.Queue = queue.Queue()
        self._waiting = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.batches = 0  # how many batches were evaluated, and their sizes (for tests and benchmarks)
        self.sizes: list[int] = []

    def _start(self) -> None:
        with self._lock:
            if self._threads:
                return
            for number in range(self.settings.workers):
                thread = threading.Thread(target=self._work, name=f"mbc-kg-batch-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, prepared: PreparedPatient, violations: list[Violation], derive: bool) -> Future:
        """Queue one parsed patient; the future gives (violations, answer or None). Raises QueueFull."""
        self._start()
        with self._lock:
            if self._waiting >= self.settings.max_queue:
                raise QueueFull(self._waiting)
            self._waiting += 1
        future: Future = Future()
        self._queue.put(_Item(prepared, violations, derive, future))
        return future

    async def judge(self, prepared: PreparedPatient, violations: list[Violation], derive: bool):
        """(violations, answer or None) for one parsed patient, evaluated in the next batch."""
        return await asyncio.wrap_future(self.submit(prepared, violations, derive))

    def _take(self) -> list[_Item] | None:
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        while len(batch) < self.settings.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # for another worker; this one ends after its batch
                break
            batch.append(item)
        with self._lock:
            self._waiting -= len(batch)
        return batch

    def _work(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            # a request whose client went away was cancelled: skip it; the others can no longer be cancelled
            batch = [item for item in batch if item.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            self.batches += 1
            self.sizes.append(len(batch))
            try:
                outcomes = self.reasoner.judge_many(
                    [(item.prepared, item.violations) for item in batch], [item.derive for item in batch]
                )
            except BaseException as exc:  # judge_many isolates patients; this is a failure of the engine itself
                for item in batch:
                    item.future.set_exception(exc)
                continue
            for item, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []


_batcher: Batcher | None = None
_batcher_lock = threading.Lock()


def get_batcher() -> Batcher:
    """The app's batcher, over the app's reasoner (state.get_reasoner(); a new one if a test replaced it)."""
    global _batcher
    reasoner = state.get_reasoner()
    with _batcher_lock:
        if _batcher is None or _batcher.reasoner is not reasoner:
            if _batcher is not None:
                _batcher.close()
            _batcher = Batcher(reasoner)
        return _batcher


def close_batcher() -> None:
    global _batcher
    with _batcher_lock:
        if _batcher is not None:
            _batcher.close()
        _batcher = None
