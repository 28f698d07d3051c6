"""The same store interface on plain rdflib (the knowledge graph and a patient's graph read as one):
the baseline the benchmarks compare Oxigraph with, and a second engine the tests can run the derivation on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rdflib import Graph
from rdflib.graph import ReadOnlyGraphAggregate


class RdflibStore:
    def __init__(self, graph: Graph):
        self.graph = graph

    @contextmanager
    def patient_graph(self, triples: Iterable[tuple]) -> Iterator[RdflibScope]:
        patient = Graph()
        patient += triples
        yield RdflibScope(self.graph, patient)


class RdflibScope:
    def __init__(self, graph: Graph, patient: Graph):
        self.patient = patient
        self.union = ReadOnlyGraphAggregate([graph, patient])

    def construct(self, query: str) -> list[tuple]:
        return list(self.union.query(query))

    def add_derived(self, triples: list[tuple]) -> int:
        for triple in triples:
            self.patient.add(triple)
        return len(triples)

    def select(self, query: str, patient_only: bool = False) -> list[dict]:
        result = (self.patient if patient_only else self.union).query(query)
        names = [str(v) for v in result.vars]
        return [{n: row[n] for n in names} for row in result]
