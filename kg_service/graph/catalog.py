"""Per-graph lookups the answers need, read once at start-up: options, the criteria behind them, evidence,
version."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef

from kg_service.graph import queries as query_catalog
from kg_service.store.oxigraph import intern_iri


@dataclass
class Option:
    step: URIRef
    step_label: str
    regimen: URIRef
    regimen_label: str
    drugs: list[str]


@dataclass(frozen=True)
class OptionCriterion:
    """A criterion behind an option (service/option-criteria.rq): its own (depth 0), or an operand of one of
    its composite criteria (depth 1, with that composite as parent)."""

    criterion: URIRef
    parent: URIRef | None
    label: str
    depth: int


@dataclass
class GraphCatalog:
    version: str = "unknown"
    version_iri: str = ""
    options: list[Option] = field(default_factory=list)
    evidence: dict[URIRef, list[dict]] = field(default_factory=dict)
    criteria: dict[tuple[URIRef, URIRef], list[OptionCriterion]] = field(default_factory=dict)  # by option


def read_catalog(graph: Graph) -> GraphCatalog:
    catalog = GraphCatalog()
    for version, version_iri in graph.query(query_catalog.load("service/graph-version")):
        catalog.version, catalog.version_iri = str(version), str(version_iri)
    index: dict[tuple[URIRef, URIRef], Option] = {}
    for row in graph.query(query_catalog.load("service/options")):
        key = (intern_iri(row.step), intern_iri(row.regimen))
        if key not in index:
            index[key] = Option(key[0], str(row.stepLabel), key[1], str(row.regimenLabel), [])
            catalog.options.append(index[key])
        if str(row.drugName) not in index[key].drugs:
            index[key].drugs.append(str(row.drugName))
    labels: dict[tuple, str] = {}
    for row in graph.query(query_catalog.load("service/option-criteria")):
        step, regimen, criterion = intern_iri(row.step), intern_iri(row.regimen), intern_iri(row.criterion)
        parent = intern_iri(row.parent) if row.parent is not None else None
        if labels.setdefault((step, regimen, criterion, parent), str(row.criterionLabel)) != str(row.criterionLabel):
            raise ValueError(f"criterion {criterion} has more than one label: an answer could name it either way")
        catalog.criteria.setdefault((step, regimen), []).append(
            OptionCriterion(criterion, parent, str(row.criterionLabel), int(row.depth))
        )
    for criteria in catalog.criteria.values():  # the answer's order, whatever order an engine returns rows in
        criteria.sort(key=lambda c: (c.depth, c.label, str(c.criterion), str(c.parent or "")))
    for row in graph.query(query_catalog.load("service/regimen-evidence")):
        item: dict = {"type": str(row.kind), "id": str(row.item), "label": str(row.label)}
        if row.nct is not None:
            item["nct"] = str(row.nct)
            item["url"] = f"https://clinicaltrials.gov/study/{row.nct}"
        if row.date is not None:
            item["date"] = str(row.date)
        if row.title is not None:
            item["title"] = str(row.title)
        catalog.evidence.setdefault(intern_iri(row.regimen), []).append(item)
    order = {"trial": 0, "approval": 1, "reference": 2}
    for items in catalog.evidence.values():
        items.sort(key=lambda i: (order[i["type"]], i["label"]))
    return catalog
