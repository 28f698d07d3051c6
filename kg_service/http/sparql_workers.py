"""Read-only SPARQL execution under a time limit, a result-size limit and a bounded queue.

Queries run in worker processes, each holding its own Oxigraph copy of the graph and running at a lower CPU
priority than the server (recommendations come first). A worker reads the query with the guard
(`sparql_guard.read_query`: updates and SERVICE are refused) before the engine sees it, so a query that is
slow even to parse is under the time limit too. A query that overruns its time limit is stopped by ending
its worker, which is replaced; the server and the other workers go on.

At most `workers + queue` queries are accepted at once: one past that is answered at once as busy (the
endpoint's 503 with Retry-After) instead of waiting behind runaways. Results are written by Oxigraph's own
SPARQL results serializers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
from dataclasses import dataclass

SELECT_FORMATS = {
    "application/sparql-results+json": "JSON",
    "application/sparql-results+xml": "XML",
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
}
GRAPH_FORMATS = {
    "text/turtle": "TURTLE",
    "application/n-triples": "N_TRIPLES",
    "application/rdf+xml": "RDF_XML",
    "application/ld+json": "JSON_LD",
}
BASE_IRI = "https://w3id.org/mbc-kg/sparql"  # relative IRIs in a query resolve against the endpoint's IRI
WORKER_NICENESS = 10


@dataclass
class Outcome:
    ok: bool
    body: bytes = b""
    media_type: str = ""
    error: str = ""
    message: str = ""


def _tsv_term(term) -> str:
    return "" if term is None else str(term)  # pyoxigraph writes terms in their SPARQL/N-Triples syntax


def select_results(variables, rows, fmt: str) -> bytes:
    """Rows of a SELECT, written by Oxigraph's serializer for `fmt` (via its own lossless TSV)."""
    import pyoxigraph as ox

    lines = ["\t".join(str(v) for v in variables)]
    lines += ["\t".join(_tsv_term(row[v]) for v in variables) for row in rows]
    text = ("\n".join(lines) + "\n").encode("utf-8")
    parsed = ox.parse_query_results(text, format=ox.QueryResultsFormat.TSV)
    return parsed.serialize(format=getattr(ox.QueryResultsFormat, fmt))


def run_query(store, query: str, select_media: str, graph_media: str, max_rows: int) -> tuple:
    """The worker's answer to one query: ("ok", body, media type) or ("error", code, message)."""
    import pyoxigraph as ox

    from kg_service.http.sparql_guard import MalformedQuery, RefusedQuery, read_query

    try:
        form = read_query(query)
    except RefusedQuery as exc:
        return ("error", "query_refused", str(exc))
    except MalformedQuery as exc:
        return ("error", "malformed_query", f"the query is not valid SPARQL 1.1: {exc}")
    media_type = select_media if form in ("SELECT", "ASK") else graph_media
    try:
        result = store.query(query, base_iri=BASE_IRI)
        if isinstance(result, ox.QueryBoolean):
            body = result.serialize(format=getattr(ox.QueryResultsFormat, SELECT_FORMATS[media_type]))
        elif isinstance(result, ox.QuerySolutions):
            rows = []
            for row in result:
                rows.append(row)
                if len(rows) > max_rows:
                    raise OverflowError
            body = select_results(result.variables, rows, SELECT_FORMATS[media_type])
        else:
            triples = []
            for triple in result:
                triples.append(triple)
                if len(triples) > max_rows:
                    raise OverflowError
            body = ox.serialize(triples, format=getattr(ox.RdfFormat, GRAPH_FORMATS[media_type]))
        return ("ok", body, media_type)
    except OverflowError:
        return ("error", "result_too_large", f"the result has more than {max_rows} rows or triples")
    except SyntaxError as exc:
        return ("error", "malformed_query", f"the query is not valid SPARQL 1.1: {exc}")
    except Exception as exc:  # the engine's own refusals (e.g. unsupported features)
        return ("error", "query_failed", f"{type(exc).__name__}: {exc}")


def _worker(data: bytes, inbox, outbox, max_rows: int) -> None:
    import pyoxigraph as ox

    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.N_TRIPLES)
    outbox.put(("ready",))
    while True:
        job = inbox.get()
        if job is None:
            return
        outbox.put(run_query(store, *job, max_rows=max_rows))


class _Worker:
    def __init__(self, ctx, data: bytes, max_rows: int):
        self.inbox = ctx.Queue()
        self.outbox = ctx.Queue()
        self.process = ctx.Process(target=_worker, args=(data, self.inbox, self.outbox, max_rows), daemon=True)
        self.process.start()
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        if not self.ready:
            self.outbox.get(timeout=timeout)
            self.ready = True

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)


class SparqlWorkers:
    """A small pool of query processes; `run` blocks the calling thread, never the server's event loop.

    `queue` is how many queries may wait for a worker: the endpoint `reserve`s a place before it runs a query,
    and a query beyond `workers + queue` is answered busy at once."""

    def __init__(self, data: bytes, workers: int = 2, timeout: float = 5.0, max_rows: int = 10_000, queue: int = 8):
        self.data, self.timeout, self.max_rows = data, timeout, max_rows
        self.capacity = workers + queue
        self.slots = threading.BoundedSemaphore(self.capacity)
        self.ctx = mp.get_context("spawn")
        self.idle: queue_module.Queue[_Worker] = queue_module.Queue()
        for _ in range(workers):
            self.idle.put(_Worker(self.ctx, data, max_rows))

    def retry_after(self) -> int:
        """Seconds a client told busy should wait: one time limit, rounded up."""
        return max(1, int(-(-self.timeout // 1)))

    def reserve(self) -> bool:
        """Take one of the `workers + queue` places, without waiting; False when every place is taken (the
        caller answers busy at once). A caller that got a place calls `run`, then `release`."""
        return self.slots.acquire(blocking=False)

    def release(self) -> None:
        self.slots.release()

    def busy_message(self) -> str:
        return (
            f"the SPARQL endpoint is busy ({self.capacity} queries running or waiting); retry in {self.retry_after()} s"
        )

    def run(self, query: str, select_media: str, graph_media: str) -> Outcome:
        """Run one query on the next idle worker (waiting for one), under the time limit."""
        worker = self.idle.get()
        try:
            worker.wait_ready(timeout=60)
            worker.inbox.put((query, select_media, graph_media))
            started = time.monotonic()
            try:
                reply = worker.outbox.get(timeout=self.timeout)
            except queue_module.Empty:
                worker.stop()
                worker = _Worker(self.ctx, self.data, self.max_rows)
                return Outcome(
                    False,
                    error="query_timeout",
                    message=f"the query was stopped after its time limit of {self.timeout:g} s "
                    f"({time.monotonic() - started:.1f} s)",
                )
            if reply[0] == "ok":
                return Outcome(True, body=reply[1], media_type=reply[2])
            return Outcome(False, error=reply[1], message=reply[2])
        finally:
            self.idle.put(worker)

    def close(self) -> None:
        while not self.idle.empty():
            worker = self.idle.get_nowait()
            worker.inbox.put(None)
            worker.stop()
