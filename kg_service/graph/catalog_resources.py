"""The catalog resources apps read (/v1/steps, /v1/regimens, /v1/drugs, /v1/trials, /v1/biomarkers):
catalog queries run once on the embedded store, grouped into JSON with IRIs, labels and identifiers."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from rdflib import Literal

from kg_service.graph.query_runner import run_oxigraph
from kg_service.store.oxigraph import OxigraphStore


def _value(term):
    if term is None:
        return None
    if isinstance(term, Literal):
        return (
            term.toPython() if term.datatype is not None and not str(term.datatype).endswith("#string") else str(term)
        )
    return str(term)


def _rows(store: OxigraphStore, name: str) -> list[dict]:
    return [{k: _value(v) for k, v in row.items()} for row in run_oxigraph(store, f"catalog/{name}").rows]


def _short(iri: str | None) -> str | None:
    return iri.rsplit("#", 1)[-1] if iri else None


class CatalogResources:
    def __init__(self, store: OxigraphStore):
        self.store = store

    @cached_property
    def steps(self) -> list[dict]:
        children = defaultdict(list)
        for edge in _rows(self.store, "pathway-edges"):
            children[edge["parent"]].append(
                {"id": edge["child"], "label": edge["childLabel"], "position": edge["position"]}
            )
        return [
            {
                "id": r["step"],
                "label": r["label"],
                "kind": "treatment" if _short(r["kind"]) == "TreatmentStep" else "decision",
                "note": r["note"],
                "document_order": r["order"],
                "children": children.get(r["step"], []),
            }
            for r in _rows(self.store, "steps")
        ]

    @cached_property
    def regimens(self) -> list[dict]:
        out: dict[str, dict] = {}
        for r in _rows(self.store, "regimens"):
            item = out.setdefault(r["regimen"], {"id": r["regimen"], "label": r["label"], "drugs": [], "steps": []})
            if r["drugName"] not in item["drugs"]:
                item["drugs"].append(r["drugName"])
            step = {"id": r["step"], "label": r["stepLabel"]}
            if step not in item["steps"]:
                item["steps"].append(step)
        evidence = defaultdict(list)
        for r in _rows(self.store, "regimen-evidence"):
            entry = {"type": r["kind"], "label": r["label"]}
            if r["nct"]:
                entry["nct"] = r["nct"]
            if r["date"]:
                entry["date"] = str(r["date"])
            if entry not in evidence[r["regimen"]]:
                evidence[r["regimen"]].append(entry)
        for regimen_id, item in out.items():
            item["evidence"] = evidence.get(regimen_id, [])
        return sorted(out.values(), key=lambda i: i["label"])

    @cached_property
    def drugs(self) -> list[dict]:
        out: dict[str, dict] = {}
        for r in _rows(self.store, "drugs-with-identifiers"):
            item = out.setdefault(
                r["drug"],
                {"id": r["drug"], "name": r["name"], "drug_class": r["class"], "brand_names": [], "identifiers": []},
            )
            if r["brand"] and r["brand"] not in item["brand_names"]:
                item["brand_names"].append(r["brand"])
            if r["identifier"]:
                ident = {
                    "relation": "exact" if r["relation"].endswith("exactMatch") else "broad",
                    "iri": r["identifier"],
                }
                if ident not in item["identifiers"]:
                    item["identifiers"].append(ident)
        return sorted(out.values(), key=lambda i: i["name"])

    @cached_property
    def trials(self) -> list[dict]:
        out: dict[str, dict] = {}
        for r in _rows(self.store, "trials"):
            item = out.setdefault(
                r["trial"],
                {
                    "id": r["trial"],
                    "label": r["label"],
                    "nct": r["nct"],
                    "phase": r["phase"],
                    "url": f"https://clinicaltrials.gov/study/{r['nct']}",
                    "drugs": [],
                },
            )
            if r["drugName"] and r["drugName"] not in item["drugs"]:
                item["drugs"].append(r["drugName"])
        return sorted(out.values(), key=lambda i: i["label"])

    @cached_property
    def biomarkers(self) -> list[dict]:
        out: dict[str, dict] = {}
        for r in _rows(self.store, "biomarkers"):
            item = out.setdefault(
                r["biomarker"],
                {
                    "id": r["biomarker"],
                    "label": r["label"],
                    "genes": [],
                    "required_origin": _short(r["origin"]),
                    "test": r["test"],
                    "gene_identifiers": [],
                },
            )
            if r["gene"] and r["gene"] not in item["genes"]:
                item["genes"].append(r["gene"])
            if r["identifier"] and r["identifier"] not in item["gene_identifiers"]:
                item["gene_identifiers"].append(r["identifier"])
        return sorted(out.values(), key=lambda i: i["label"])
