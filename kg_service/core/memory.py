"""After start-up: keep the objects built at start-up out of Python's garbage collections.

A process that has loaded the knowledge graph holds some 130,000 long-lived objects (the rdflib graph, the
catalog, the prepared shapes and queries). Python's full collections walk every one of them, however
little a request allocates: under 16 concurrent API clients a server spent 1.2 s of 17 in collections,
with full collections of up to 150 ms, each of which stopped every request thread. `gc.freeze()` moves the
objects alive at the call into a permanent generation that collections skip (the standard library's
remedy for exactly this: https://docs.python.org/3/library/gc.html#gc.freeze); what is built later is
collected as before. Measured in docs/decisions/20261201-throughput.md.
"""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> int:
    """Collect once, then exclude every object now alive from later collections; how many were frozen.
    Call it once, when a server or worker process has finished preparing and before it takes work."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
