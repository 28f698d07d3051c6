"""The reasoner: load and prepare everything once, then validate, derive and explain per patient."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph

from .answer import build_answer
from .catalog_data import GraphCatalog, read_catalog
from .eligibility import EligibilityPipeline
from .errors import BadRequest, InvalidPatient, Violation
from .graph_loader import load_graph
from .patient_json import PatientParser
from .patient_rdf import parse_rdf_patient
from .patient_validation import validate_patient
from .shacl import load_shapes
from .store import OxigraphStore
from .vocabulary import Vocabulary, read_vocabulary

JSON_TYPES = {"application/json", "text/json"}
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}


@dataclass
class PreparedPatient:
    graph: Graph
    patient_id: str
    warnings: list[str]


class Reasoner:
    """Everything parsed and prepared at construction; `recommend` and `validate` do per-request work only."""

    def __init__(self, graph: Graph | None = None, extra_files: list[Path] | None = None):
        started = time.perf_counter()
        self.graph = graph if graph is not None else load_graph(extra_files=extra_files or [])
        self.vocabulary: Vocabulary = read_vocabulary(self.graph)
        self.catalog: GraphCatalog = read_catalog(self.graph)
        self.parser = PatientParser(self.vocabulary)
        self.store = OxigraphStore(self.graph)
        self.pipeline = EligibilityPipeline(self.store)
        load_shapes("patient-shapes.ttl")
        self.startup_seconds = time.perf_counter() - started

    @property
    def version(self) -> str:
        return self.catalog.version

    def prepare(
        self, body: Any, content_type: str = "application/json", today: dt.date | None = None
    ) -> PreparedPatient:
        """Parse and validate a patient (a JSON document, or RDF text); raise InvalidPatient with every violation."""
        media = (content_type or "application/json").split(";")[0].strip().lower()
        if media in RDF_TYPES:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            graph, patient_id, violations = parse_rdf_patient(text, RDF_TYPES[media], self.vocabulary, today)
            warnings: list[str] = []
        else:
            if isinstance(body, (bytes, str)):
                try:
                    body = json.loads(body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise BadRequest(f"the body is not valid JSON: {exc}") from exc
            parsed = self.parser.parse(body, today=today)
            graph, patient_id, violations, warnings = (
                parsed.graph,
                parsed.patient_id,
                parsed.violations,
                parsed.warnings,
            )
        violations = violations + validate_patient(graph, self.vocabulary)
        if violations:
            raise InvalidPatient(sorted(set(violations), key=lambda v: (v.field, v.message)))
        return PreparedPatient(graph, patient_id, warnings)

    def recommend(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        prepared = self.prepare(body, content_type, today)
        derivation = self.pipeline.run(prepared.graph)
        return build_answer(prepared.patient_id, self.catalog, derivation, prepared.warnings)

    def validate(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        """The validation verdict as a value: valid, or every violation."""
        try:
            prepared = self.prepare(body, content_type, today)
        except InvalidPatient as exc:
            return {"valid": False, "violations": [v.as_dict() for v in exc.violations]}
        return {"valid": True, "patient_id": prepared.patient_id, "violations": [], "warnings": prepared.warnings}


__all__ = ["Reasoner", "InvalidPatient", "BadRequest", "Violation"]
