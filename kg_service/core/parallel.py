"""Queries that read the same state, run side by side on threads.

Oxigraph (embedded) releases the GIL while it parses, plans and evaluates a query, and an HTTP request waits
outside it, so independent queries of one request use every core: the patient shapes' queries, and each run
of derivation steps that read none of each other's triples (eligibility.py, the queries' "Uses:" headers).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
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


def deal(weights: list[float], shares: int) -> list[list[int]]:
    """Positions 0..n-1 dealt into `shares` lists: round-robin, or, given weights (an estimate of each item's
    cost), heaviest first to the lightest share so far (so that the shares end at about the same time)."""
    if not weights or len(set(weights)) == 1:
        return [list(range(share, len(weights), shares)) for share in range(shares)]
    dealt: list[list[int]] = [[] for _ in range(shares)]
    loads = [0.0] * shares
    for position in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        lightest = loads.index(min(loads))
        dealt[lightest].append(position)
        loads[lightest] += weights[position]
    return [sorted(share) for share in dealt]


def map_queries(fn: Callable[[T], R], items: Iterable[T], threads: int, weights: list[float] | None = None) -> list[R]:
    """[fn(item) for item in items], in order. With `threads` > 1 the items are dealt into that many shares
    (see deal); the calling thread works through one share while pool threads take the others (one task per
    thread: a task per query cost more in hand-offs than the 0.2 ms queries it ran)."""
    items = list(items)
    shares = min(threads, len(items))
    if shares <= 1:
        return [fn(item) for item in items]
    dealt = deal(weights if weights is not None else [1.0] * len(items), shares)

    def work(positions: list[int]) -> list[R]:
        return [fn(items[i]) for i in positions]

    others = [_pool(shares - 1).submit(work, positions) for positions in dealt[1:]]
    try:
        mine = work(dealt[0])
    finally:  # every share ends before the caller goes on (or raises): no query outlives its patient's scope
        wait(others)
    results: list = [None] * len(items)
    for positions, found in zip(dealt, [mine] + [future.result() for future in others], strict=True):
        for position, value in zip(positions, found, strict=True):
            results[position] = value
    return results
