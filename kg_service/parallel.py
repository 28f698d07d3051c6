"""Queries that read the same state, run side by side on threads.

Oxigraph (embedded) releases the GIL while it parses, plans and evaluates a query, and an HTTP request waits
outside it, so independent SELECTs of one request use every core: the patient shapes' queries, and each run
of consecutive SELECT steps of the derivation (a SELECT never writes, so SELECTs in a row see the same graph).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def default_threads() -> int:
    """$MBC_KG_QUERY_THREADS, else the cores this process may use (at most 4)."""
    setting = os.environ.get("MBC_KG_QUERY_THREADS")
    if setting:
        try:
            value = int(setting)
        except ValueError as exc:
            raise ValueError(f"MBC_KG_QUERY_THREADS must be a whole number, not {setting!r}") from exc
        if value < 1:
            raise ValueError(f"MBC_KG_QUERY_THREADS must be at least 1, not {value}")
        return value
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _pool(threads: int) -> ThreadPoolExecutor:
    key = (os.getpid(), threads)  # a pool is not inherited across fork (screening workers)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mbc-kg-query")
        return pool


def map_queries(fn: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """[fn(item) for item in items], in order. With `threads` > 1 the items are dealt round-robin into that
    many shares; the calling thread works through one share while pool threads take the others (one task per
    thread: a task per query cost more in hand-offs than the 0.2 ms queries it ran)."""
    items = list(items)
    shares = min(threads, len(items))
    if shares <= 1:
        return [fn(item) for item in items]

    def work(share: int) -> list[R]:
        return [fn(item) for item in items[share::shares]]

    others = [_pool(shares - 1).submit(work, share) for share in range(1, shares)]
    results: list = [None] * len(items)
    results[0::shares] = work(0)
    for share, future in enumerate(others, start=1):
        results[share::shares] = future.result()
    return results
