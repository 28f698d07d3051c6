"""The SPARQL store the derivation runs on: Oxigraph, embedded (pyoxigraph).

The knowledge graph sits in the default graph; each patient's triples go into a named graph of their own,
queried together with the default graph, so a request costs the same however many patients are loaded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef


def to_ox(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r}")


def from_ox(term):
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


class OxigraphStore:
    """An in-memory Oxigraph store holding the knowledge graph in its default graph."""

    def __init__(self, graph: Graph):
        self.store = ox.Store()
        data = graph.serialize(format="nt", encoding="utf-8")
        self.store.load(data, format=ox.RdfFormat.N_TRIPLES)

    @contextmanager
    def patient_graph(self, triples: Graph) -> Iterator[PatientScope]:
        """Load a patient's triples into a fresh named graph; remove it afterwards."""
        name = ox.NamedNode(f"urn:uuid:{uuid.uuid4()}")
        self.store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), name) for s, p, o in triples)
        try:
            yield PatientScope(self.store, name)
        finally:
            self.store.remove_graph(name)


class PatientScope:
    """Queries over the knowledge graph plus one patient's named graph."""

    def __init__(self, store: ox.Store, name: ox.NamedNode):
        self.store = store
        self.name = name
        self.default_graph = [ox.DefaultGraph(), name]

    def construct_into_patient(self, query: str) -> int:
        triples = list(self.store.query(query, default_graph=self.default_graph))
        self.store.extend(ox.Quad(t.subject, t.predicate, t.object, self.name) for t in triples)
        return len(triples)

    def select(self, query: str, patient_only: bool = False) -> list[dict]:
        """Rows of a SELECT over the knowledge graph and the patient's graph (or the patient's graph alone)."""
        result = self.store.query(query, default_graph=[self.name] if patient_only else self.default_graph)
        names = [v.value for v in result.variables]
        return [{n: from_ox(row[n]) for n in names} for row in result]
