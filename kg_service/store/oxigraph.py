"""The SPARQL store the derivation runs on: Oxigraph, embedded (pyoxigraph).

The knowledge graph sits in the default graph of a store that is never written after loading (catalog
queries, /sparql). A request's patient (or a screening batch) goes into the patient graph of a scratch
store, a copy of the knowledge graph taken from a pool (one per concurrent request), and is queried together
with the default graph. A scratch store is replaced by a fresh copy once it has held `recycle_after` patient
and derived triples: Oxigraph's in-memory store keeps removed quads in its indexes (history for snapshots),
and a store that had taken and removed 400 patients answered each new one 3.6x slower (41 -> 148 ms).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef

# RDF 1.1 concepts 3.3 (and RDF 1.2's rdf:dirLangString): a literal of these datatypes is one with a language tag.
# Oxigraph's term constructor takes "abc"^^rdf:langString, which its strict reader then refuses.
_TAGGED_DATATYPES = {str(RDF.langString), f"{RDF}dirLangString"}


# Term caches: the graph's terms recur in every answer; a patient's own terms (its IRIs, reason texts) do not,
# and 65,536 entries of them made a screening worker 20% slower after 17,000 patients (420,000 objects for
# the garbage collector to walk). 8,192 entries keep the graph's terms and showed no drift.
@lru_cache(maxsize=8_192)
def to_ox(term):
    """The Oxigraph term for an rdflib term: ValueError for one the store must not hold (an IRI that is not an
    RFC 3987 IRI, a language string without a language tag), the one check of what enters a store."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            if str(term.datatype) in _TAGGED_DATATYPES:
                raise ValueError(f"a literal of datatype <{term.datatype}> needs a language tag")
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r}")


# IRIs that answers look things up by (the catalog's steps, regimens and criteria: intern_iri), as one object
# each: a row's IRI is then the very object the lookup's key is, and the dict matches it by identity instead of
# calling rdflib's __eq__ (350 calls a patient). IRIs only, and bounded by the graph: rdflib tells a plain
# literal from its xsd:string twin, so a literal is always converted the one way below.
_INTERNED: dict = {}


def intern_iri(term: URIRef) -> URIRef:
    """The one object for this IRI that from_ox returns from now on (the first one interned)."""
    return _INTERNED.setdefault(ox.NamedNode(str(term)), term)


def from_ox(term):
    """The rdflib term for an Oxigraph term (None for an unbound variable): an interned IRI's object, else a
    cached conversion, since the same IRIs and labels come back in every answer (converting every term of
    every row cost 3 ms of a 6 ms query)."""
    known = _INTERNED.get(term)
    return known if known is not None else _from_ox(term)


@lru_cache(maxsize=8_192)
def _from_ox(term):
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"cannot convert {term!r}")


class _Scratch:
    """A copy of the knowledge graph that takes patients, one request at a time."""

    GRAPH = ox.NamedNode("urn:mbc-kg:patient-graph")

    def __init__(self, quads: list[ox.Quad]):
        self.store = ox.Store()
        self.store.extend(quads)
        self.written = 0


class OxigraphStore:
    """An in-memory Oxigraph store holding the knowledge graph in its default graph (never written after
    loading), and a pool of scratch copies that hold one patient graph (or one batch) at a time."""

    def __init__(self, graph: Graph, recycle_after: int = 5_000):
        data = graph.serialize(format="nt", encoding="utf-8")
        self.store = ox.Store()
        self.store.load(data, format=ox.RdfFormat.N_TRIPLES)
        self._quads = list(self.store)
        self.recycle_after = recycle_after
        self._free: queue.SimpleQueue[_Scratch] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.scratch_created = 0

    def _take(self) -> _Scratch:
        try:
            scratch = self._free.get_nowait()
        except queue.Empty:
            scratch = None
        if scratch is None or scratch.written >= self.recycle_after:
            scratch = _Scratch(self._quads)
            with self._lock:
                self.scratch_created += 1
        return scratch

    @contextmanager
    def patient_graph(self, triples: Iterable[tuple]) -> Iterator[PatientScope]:
        """Load a patient's (or a batch's) rdflib triples (a Graph, a set or a list) into a scratch store's
        patient graph; remove them afterwards."""
        scratch = self._take()
        name = _Scratch.GRAPH
        scope = PatientScope(scratch.store, name)
        scratch.store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), name) for s, p, o in triples)
        try:
            yield scope
        finally:
            scratch.written += len(triples) + scope.derived
            scratch.store.remove_graph(name)
            self._free.put(scratch)


class PatientScope:
    """Queries over the knowledge graph plus one patient's named graph."""

    def __init__(self, store: ox.Store, name: ox.NamedNode):
        self.store = store
        self.name = name
        self.default_graph = [ox.DefaultGraph(), name]
        self.derived = 0

    def construct(self, query: str) -> bytes:
        """The triples of a CONSTRUCT over the knowledge graph and the patient's graph (not yet added), as
        N-Triples: Oxigraph writes them and reads them back into the patient's graph (add_derived) without a
        Python object per triple, which held the interpreter's lock for a third of a millisecond a patient."""
        return self.store.query(query, default_graph=self.default_graph).serialize(format=ox.RdfFormat.N_TRIPLES)

    def add_derived(self, triples: bytes) -> int:
        """Add a CONSTRUCT's N-Triples to the patient's graph; how many. They are Oxigraph's own writing of
        terms it already holds, so they are read leniently (without validating each IRI and literal again:
        Oxigraph's manual recommends it for input known to be valid; 0.39-0.49 -> 0.23-0.29 ms a patient). The
        one term Oxigraph holds that its strict reader refuses, a language string without a language tag, never
        comes in: to_ox refuses it, and no query builds one."""
        if b"_:" in triples:  # Oxigraph's loader renames blank nodes; its parser keeps their labels
            parsed = ox.parse(triples, format=ox.RdfFormat.N_TRIPLES)
            self.store.extend(ox.Quad(t.subject, t.predicate, t.object, self.name) for t in parsed)
        elif triples:
            self.store.load(triples, format=ox.RdfFormat.N_TRIPLES, to_graph=self.name, lenient=True)
        count = triples.count(b"\n")  # one triple a line: N-Triples as Oxigraph writes it
        self.derived += count
        return count

    def select(self, query: str, patient_only: bool = False) -> list[dict]:
        """Rows of a SELECT over the knowledge graph and the patient's graph (or the patient's graph alone)."""
        result = self.store.query(query, default_graph=[self.name] if patient_only else self.default_graph)
        names = [v.value for v in result.variables]
        return [dict(zip(names, map(from_ox, row), strict=True)) for row in result]  # a row iterates its values
