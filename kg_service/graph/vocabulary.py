"""What the JSON layer needs from the graph, read once at start-up: value-set codes, drug names, genes."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef

from kg_service.core.namespaces import MBC
from kg_service.graph import queries as query_catalog


@dataclass
class Vocabulary:
    codes: dict[URIRef, dict[str, URIRef]] = field(default_factory=dict)
    labels_by_member: dict[URIRef, str] = field(default_factory=dict)
    drugs_by_name: dict[str, URIRef] = field(default_factory=dict)
    generic_names: dict[URIRef, str] = field(default_factory=dict)
    genes_by_symbol: dict[str, URIRef] = field(default_factory=dict)

    def member(self, value_set: URIRef, code: str) -> URIRef | None:
        return self.codes.get(value_set, {}).get(code)

    def code_of(self, member: URIRef) -> str | None:
        return self.labels_by_member.get(member)

    def drug(self, name: str) -> URIRef | None:
        return self.drugs_by_name.get(name.strip().casefold())


def read_vocabulary(graph: Graph) -> Vocabulary:
    vocab = Vocabulary()
    for value_set, member, code in graph.query(query_catalog.load("service/value-set-codes")):
        vocab.codes.setdefault(value_set, {})[str(code)] = member
        vocab.labels_by_member[member] = str(code)
    for drug, name, generic in graph.query(query_catalog.load("service/drug-names")):
        vocab.drugs_by_name[str(name).casefold()] = drug
        vocab.generic_names[drug] = str(generic)
    for gene, symbol in graph.query(query_catalog.load("service/genes")):
        vocab.genes_by_symbol[str(symbol)] = gene
    return vocab


VALUE_SETS = {
    "sex": MBC.Sex,
    "menopausal_status": MBC.MenopausalStatus,
    "stage": MBC.DiseaseStage,
    "er": MBC.ReceptorStatus,
    "pr": MBC.ReceptorStatus,
    "ihc": MBC.HER2IHCScore,
    "ish": MBC.ISHResult,
    "result": MBC.TestResultValue,
    "origin": MBC.AlleleOrigin,
    "specimen": MBC.SpecimenType,
    "setting": MBC.TherapySetting,
    "outcome": MBC.TherapyOutcome,
}
