"""The app-facing JSON patient document, parsed into RDF in the project's vocabulary.

This layer parses; it does not judge. Values it recognises become graph IRIs and typed literals; values it
does not recognise are kept as plain literals so that the patient shapes (shapes/patient-shapes.ttl) can
name them. Only what cannot be put into RDF at all (a body that is not an object, a list where an object
must be) is reported here.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.term import Node

from kg_service.core.errors import Violation
from kg_service.core.namespaces import MBC, MBCK, PATIENT
from kg_service.graph.vocabulary import VALUE_SETS, Vocabulary

KNOWN_FIELDS = {
    "id",
    "sex",
    "menopausal_status",
    "stage",
    "metastatic_diagnosis_date",
    "er",
    "pr",
    "her2",
    "biomarkers",
    "therapies",
}
HER2_FIELDS = {"ihc", "ish", "membrane_staining"}
BIOMARKER_FIELDS = {"gene", "result", "variant", "origin", "specimen", "date"}
THERAPY_FIELDS = {"setting", "line", "drugs", "start_date", "end_date", "outcome"}
# Where each object of the document sits and the class its node gets in the patient graph (the patient
# shapes target these classes; the OpenAPI schema reads each field's allowed values from them).
DOCUMENT_OBJECTS = {
    "": MBC.Patient,
    "her2": MBC.HER2Result,
    "biomarkers[]": MBC.BiomarkerResult,
    "therapies[]": MBC.TherapyLine,
}
GENE_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")


Triples = set[tuple[Node, Node, Node]]


@dataclass
class ParsedPatient:
    graph: Triples  # the patient's triples: a set, since adding to an rdflib Graph cost 13-40 us a triple
    patient: URIRef
    patient_id: str
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _date(value: Any) -> Literal:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return Literal(dt.date.fromisoformat(value), datatype=XSD.date)
        except ValueError:
            pass
    return Literal(str(value))


def _scalar(value: Any) -> Literal:
    if isinstance(value, bool):
        return Literal(value)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    return Literal(str(value))


class PatientParser:
    """Turns one contract document into the patient's triples. Built once per knowledge graph."""

    def __init__(self, vocabulary: Vocabulary):
        self.vocab = vocabulary

    def _coded(self, key: str, value: Any) -> URIRef | Literal:
        code = value if isinstance(value, str) else None  # "ihc": 0 is a number, not the code "0"
        member = self.vocab.member(VALUE_SETS[key], code) if code is not None else None
        return member if member is not None else _scalar(value)

    def parse(self, document: Any, today: dt.date | None = None) -> ParsedPatient:
        today = today or dt.datetime.now(dt.UTC).date()
        graph: Triples = set()
        patient = URIRef(f"{PATIENT}{uuid.uuid4()}")
        parsed = ParsedPatient(graph=graph, patient=patient, patient_id="")
        if not isinstance(document, dict):
            parsed.violations.append(Violation("(document)", "the patient document must be a JSON object"))
            return parsed
        add = graph.add
        reference_date = Literal(today, datatype=XSD.date)
        add((patient, RDF.type, MBC.Patient))
        add((patient, MBC.inputField, Literal("")))
        add((patient, MBC.referenceDate, reference_date))
        for key in sorted(set(document) - KNOWN_FIELDS):
            parsed.warnings.append(f"field '{key}' is not part of the patient document and was ignored")

        if "id" in document and document["id"] is not None:
            add((patient, MBC.patientId, _scalar(document["id"])))
            parsed.patient_id = str(document["id"])
        for key, prop in (
            ("sex", MBC.sex),
            ("menopausal_status", MBC.menopausalStatus),
            ("stage", MBC.stage),
            ("er", MBC.erStatus),
            ("pr", MBC.prStatus),
        ):
            if document.get(key) is not None:
                add((patient, prop, self._coded(key, document[key])))
        diagnosis = document.get("metastatic_diagnosis_date")
        if diagnosis is not None:
            add((patient, MBC.metastaticDiagnosisDate, _date(diagnosis)))

        her2 = document.get("her2")
        if her2 is not None:
            if not isinstance(her2, dict):
                parsed.violations.append(
                    Violation("her2", "must be an object with 'ihc' (and 'ish', 'membrane_staining')")
                )
            else:
                node = URIRef(f"{patient}/her2")
                add((patient, MBC.hasHER2Result, node))
                add((node, RDF.type, MBC.HER2Result))
                add((node, MBC.inputField, Literal("her2")))
                if her2.get("ihc") is not None:
                    add((node, MBC.ihcScore, self._coded("ihc", her2["ihc"])))
                if her2.get("ish") is not None:
                    add((node, MBC.ishResult, self._coded("ish", her2["ish"])))
                if her2.get("membrane_staining") is not None:
                    add((node, MBC.membraneStaining, _scalar(her2["membrane_staining"])))
                for key in sorted(set(her2) - HER2_FIELDS):
                    parsed.warnings.append(f"field 'her2.{key}' is not part of the patient document and was ignored")

        for index, item in enumerate(self._list(document, "biomarkers", parsed)):
            where = f"biomarkers[{index}]"
            if not isinstance(item, dict):
                parsed.violations.append(Violation(where, "must be an object with 'gene' and 'result'"))
                continue
            node = URIRef(f"{patient}/biomarkers/{index}")
            add((patient, MBC.hasBiomarkerResult, node))
            add((node, RDF.type, MBC.BiomarkerResult))
            add((node, MBC.inputField, Literal(where)))
            add((node, MBC.referenceDate, reference_date))
            gene = item.get("gene")
            if gene is not None:
                add((node, MBC.onGene, self._gene(gene)))
            if item.get("result") is not None:
                add((node, MBC.testResult, self._coded("result", item["result"])))
            origin = item.get("origin", "somatic")
            if origin is not None:
                add((node, MBC.alleleOrigin, self._coded("origin", origin)))
            if item.get("specimen") is not None:
                add((node, MBC.specimen, self._coded("specimen", item["specimen"])))
            if item.get("variant") is not None:
                add((node, MBC.variant, _scalar(item["variant"])))
            if item.get("date") is not None:
                add((node, MBC.resultDate, _date(item["date"])))
            for key in sorted(set(item) - BIOMARKER_FIELDS):
                parsed.warnings.append(f"field '{where}.{key}' is not part of the patient document and was ignored")

        for index, item in enumerate(self._list(document, "therapies", parsed)):
            where = f"therapies[{index}]"
            if not isinstance(item, dict):
                parsed.violations.append(Violation(where, "must be an object with 'setting', 'drugs' and dates"))
                continue
            node = URIRef(f"{patient}/therapies/{index}")
            add((patient, MBC.hasTherapyLine, node))
            add((node, RDF.type, MBC.TherapyLine))
            add((node, MBC.inputField, Literal(where)))
            add((node, MBC.referenceDate, reference_date))
            if item.get("setting") is not None:
                add((node, MBC.setting, self._coded("setting", item["setting"])))
            if item.get("line") is not None:
                add((node, MBC.lineNumber, _scalar(item["line"])))
            drugs = item.get("drugs")
            if drugs is not None and not isinstance(drugs, list):
                parsed.violations.append(Violation(f"{where}.drugs", "must be a list of drug names"))
            for name in drugs if isinstance(drugs, list) else []:  # not a list: reported above, nothing to map
                resolved = self.vocab.drug(name) if isinstance(name, str) else None
                add((node, MBC.includesDrug, resolved if resolved is not None else _scalar(name)))
            if item.get("start_date") is not None:
                add((node, MBC.startDate, _date(item["start_date"])))
            if item.get("end_date") is not None:
                add((node, MBC.endDate, _date(item["end_date"])))
            outcome = item.get("outcome")
            if outcome is None and item.get("setting") == "metastatic":
                # contract default: progression; a line with no end date is still being given
                outcome = "progression" if item.get("end_date") is not None else "ongoing"
            if outcome is not None:
                add((node, MBC.outcome, self._coded("outcome", outcome)))
            for key in sorted(set(item) - THERAPY_FIELDS):
                parsed.warnings.append(f"field '{where}.{key}' is not part of the patient document and was ignored")
        return parsed

    def _list(self, document: dict, key: str, parsed: ParsedPatient) -> list:
        value = document.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            parsed.violations.append(Violation(key, "must be a list"))
            return []
        return value

    def _gene(self, symbol: Any) -> URIRef | Literal:
        if not isinstance(symbol, str) or not GENE_SYMBOL.match(symbol):
            return _scalar(symbol)
        known = self.vocab.genes_by_symbol.get(symbol) or self.vocab.genes_by_symbol.get(symbol.upper())
        return known if known is not None else URIRef(f"{MBCK}gene/{symbol}")
