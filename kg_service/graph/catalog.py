"""Per-graph lookups the answers need, read once at start-up: options, evidence, version."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef

from kg_service.graph import queries as query_catalog


@dataclass
class Option:
    step: URIRef
    step_label: str
    regimen: URIRef
    regimen_label: str
    drugs: list[str]


@dataclass
class GraphCatalog:
    version: str = "unknown"
    version_iri: str = ""
    options: list[Option] = field(default_factory=list)
    evidence: dict[URIRef, list[dict]] = field(default_factory=dict)


def read_catalog(graph: Graph) -> GraphCatalog:
    catalog = GraphCatalog()
    for version, version_iri in graph.query(query_catalog.load("service/graph-version")):
        catalog.version, catalog.version_iri = str(version), str(version_iri)
    index: dict[tuple[URIRef, URIRef], Option] = {}
    for row in graph.query(query_catalog.load("service/options")):
        key = (row.step, row.regimen)
        if key not in index:
            index[key] = Option(row.step, str(row.stepLabel), row.regimen, str(row.regimenLabel), [])
            catalog.options.append(index[key])
        if str(row.drugName) not in index[key].drugs:
            index[key].drugs.append(str(row.drugName))
    for row in graph.query(query_catalog.load("service/regimen-evidence")):
        item: dict = {"type": str(row.kind), "id": str(row.item), "label": str(row.label)}
        if row.nct is not None:
            item["nct"] = str(row.nct)
            item["url"] = f"https://clinicaltrials.gov/study/{row.nct}"
        if row.date is not None:
            item["date"] = str(row.date)
        if row.title is not None:
            item["title"] = str(row.title)
        catalog.evidence.setdefault(row.regimen, []).append(item)
    order = {"trial": 0, "approval": 1, "reference": 2}
    for items in catalog.evidence.values():
        items.sort(key=lambda i: (order[i["type"]], i["label"]))
    return catalog
