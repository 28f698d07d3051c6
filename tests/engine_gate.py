"""What the batching tests share: an engine held on its first batch, waiting for a condition, and the app on
a real HTTP server with the test's reasoner and a fresh batcher (tests/test_batching.py,
tests/test_request_path_hardening.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kg_service import api
from kg_service.http import batching, state

from .live_server import LiveServer


class Gate:
    """Holds the engine's first batch until `release` is set, so that later requests queue up behind it."""

    def __init__(self, reasoner):
        self.judge_many = reasoner.judge_many
        self.release = threading.Event()
        self.first = True

    def __call__(self, patients, derive=True):
        if self.first:
            self.first = False
            assert self.release.wait(120), "the test never released the engine"
        return self.judge_many(patients, derive)


def held_batcher(reasoner, settings) -> tuple[Gate, object]:
    """A Batcher of its own whose engine holds its first batch until the gate is released."""
    from kg_service.http.batching import Batcher

    gate = Gate(reasoner)
    batcher = Batcher(reasoner, settings)
    batcher.reasoner = type("Held", (), {"judge_many": gate})()
    return gate, batcher


def held_app_batcher(reasoner, monkeypatch, queue_max: int) -> tuple[Gate, object]:
    """The app's own batcher, made afresh with a queue bound of `queue_max`, whose engine holds its first
    batch until the gate is released (the reasoner's judge_many is the gate for the test)."""
    from kg_service.http import batching

    monkeypatch.setenv("MBC_KG_QUEUE_MAX", str(queue_max))
    batching.close_batcher()
    gate = Gate(reasoner)
    monkeypatch.setattr(reasoner, "judge_many", gate)
    return gate, batching.get_batcher()


def wait_for(condition, what: str) -> None:
    event = threading.Event()
    for _ in range(2400):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def live_app(reasoner, monkeypatch) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 serving `reasoner`, with a batcher of its own (closed before and after)."""
    monkeypatch.setattr(state, "get_reasoner", lambda: reasoner)
    batching.close_batcher()
    try:
        with LiveServer(api.app) as live:
            yield live
    finally:
        batching.close_batcher()
