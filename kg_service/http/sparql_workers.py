"""Read-only SPARQL execution under a time limit and a result-size limit.

Queries run in worker processes, each holding its own Oxigraph copy of the graph. A query that overruns its
time limit is stopped by ending its worker, which is replaced; the server and the other workers go on.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass

SELECT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_FORMATS = {
    "text/turtle": "TURTLE",
    "application/n-triples": "N_TRIPLES",
    "application/rdf+xml": "RDF_XML",
    "application/ld+json": "JSON_LD",
}


@dataclass
class Outcome:
    ok: bool
    body: bytes = b""
    media_type: str = ""
    error: str = ""
    message: str = ""


def _tsv_term(term) -> str:
    return "" if term is None else term.n3()


def _serialize_select(variables, rows, fmt: str) -> bytes:
    from rdflib.query import Result

    from kg_service.store.oxigraph import from_ox

    names = [v.value for v in variables]
    if fmt == "tsv":
        out = io.StringIO()
        out.write("\t".join(f"?{n}" for n in names) + "\n")
        for row in rows:
            out.write("\t".join(_tsv_term(from_ox(row[n])) for n in names) + "\n")
        return out.getvalue().encode("utf-8")
    from rdflib import Variable

    result = Result("SELECT")
    result.vars = [Variable(n) for n in names]
    result.bindings = [{Variable(n): from_ox(row[n]) for n in names if row[n] is not None} for row in rows]
    return result.serialize(format=fmt)


def _serialize_ask(value: bool, fmt: str) -> bytes:
    if fmt in ("csv", "tsv"):
        return f"{'true' if value else 'false'}\n".encode()
    from rdflib.query import Result

    result = Result("ASK")
    result.askAnswer = value
    return result.serialize(format=fmt)


def _worker(data: bytes, inbox, outbox, max_rows: int) -> None:
    import pyoxigraph as ox

    store = ox.Store()
    store.load(data, format=ox.RdfFormat.N_TRIPLES)
    outbox.put(("ready",))
    while True:
        job = inbox.get()
        if job is None:
            return
        query, form, media_type = job
        try:
            result = store.query(query)
            if isinstance(result, ox.QueryBoolean):
                body = _serialize_ask(bool(result), SELECT_FORMATS[media_type])
            elif form == "SELECT":
                rows = []
                for row in result:
                    rows.append(row)
                    if len(rows) > max_rows:
                        raise OverflowError
                body = _serialize_select(result.variables, rows, SELECT_FORMATS[media_type])
            else:
                triples = []
                for triple in result:
                    triples.append(triple)
                    if len(triples) > max_rows:
                        raise OverflowError
                body = ox.serialize(triples, format=getattr(ox.RdfFormat, GRAPH_FORMATS[media_type]))
            outbox.put(("ok", body))
        except OverflowError:
            outbox.put(("error", "result_too_large", f"the result has more than {max_rows} rows or triples"))
        except SyntaxError as exc:
            outbox.put(("error", "malformed_query", f"the query is not valid SPARQL 1.1: {exc}"))
        except Exception as exc:  # the engine's own refusals (e.g. unsupported features)
            outbox.put(("error", "query_failed", f"{type(exc).__name__}: {exc}"))


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
    """A small pool of query processes; `run` blocks the calling thread, never the server's event loop."""

    def __init__(self, data: bytes, workers: int = 2, timeout: float = 5.0, max_rows: int = 10_000):
        self.data, self.timeout, self.max_rows = data, timeout, max_rows
        self.ctx = mp.get_context("spawn")
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.lock = threading.Lock()
        for _ in range(workers):
            self.idle.put(_Worker(self.ctx, data, max_rows))

    def run(self, query: str, form: str, media_type: str) -> Outcome:
        worker = self.idle.get()
        try:
            worker.wait_ready(timeout=60)
            worker.inbox.put((query, form, media_type))
            started = time.monotonic()
            try:
                reply = worker.outbox.get(timeout=self.timeout)
            except queue.Empty:
                worker.stop()
                worker = _Worker(self.ctx, self.data, self.max_rows)
                return Outcome(
                    False,
                    error="query_timeout",
                    message=f"the query was stopped after its time limit of {self.timeout:g} s "
                    f"({time.monotonic() - started:.1f} s)",
                )
            if reply[0] == "ok":
                return Outcome(True, body=reply[1], media_type=media_type)
            return Outcome(False, error=reply[1], message=reply[2])
        finally:
            self.idle.put(worker)

    def close(self) -> None:
        while not self.idle.empty():
            worker = self.idle.get_nowait()
            worker.inbox.put(None)
            worker.stop()
