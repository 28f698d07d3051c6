"""After start-up: keep the objects built at start-up out of Python's garbage collections.

A process that has loaded the knowledge graph holds some 130,000 long-lived objects (the rdflib graph, the
catalog, the prepared shapes and queries). Python's full collections walk every one of them, however
little a request allocates: under 16 concurrent API clients a server spent 1.2 s of 17 in collections,
with full collections of up to 150 ms, each of which stopped every request thread. `gc.freeze()` moves the
objects alive at the call into a permanent generation that collections skip (the standard library's
remedy for exactly this: https://docs.python.org/3/library/gc.html#gc.freeze); what is built later is
collected as before.

What is built after start-up is collected less often, too: a screening batch's 50 answers are some 50,000
small dicts and lists, alive until the batch is written, and at Python's default threshold (a collection of
the youngest objects every 700 new ones) they were walked again and again on their way to the oldest
generation, whose growth then set off a full collection every three batches: 0.25-0.33 ms of a screened
patient's 4.5-5.5 ms, measured by gc.callbacks. Past start-up the youngest generation is collected every
YOUNG_THRESHOLD new objects instead (nearly all of a batch's or a request's objects are freed by their
reference counts before that), and cycles are still collected. The setting is the process's: a library user
who screens in their own process (one worker) keeps it afterwards, as they keep the freeze. It is tuned for
the generational collector (Python 3.11-3.13, and 3.14.5 on, where 3.14.0-3.14.4's incremental collector was
reverted: the 3.15 What's New); under that incremental one the thresholds mean something else and would
need measuring again. Measured in docs/decisions/20261201-throughput.md.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # new objects between collections of the youngest generation (Python's default: 700)


def freeze_start_up_objects() -> int:
    """Collect once, then exclude every object now alive from later collections, and collect the youngest
    generation every YOUNG_THRESHOLD new objects; how many were frozen. Call it once, when a server or
    worker process has finished preparing and before it takes work."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    return gc.get_freeze_count()
