"""The reasoner: load and prepare everything once, then validate, derive and explain per patient."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph

from kg_service.core.errors import BadRequest, InvalidPatient, Violation
from kg_service.core.parallel import default_threads
from kg_service.graph.catalog import GraphCatalog, read_catalog
from kg_service.graph.loader import load_graph
from kg_service.graph.shapes import load_shapes
from kg_service.graph.vocabulary import Vocabulary, read_vocabulary
from kg_service.patient.json_document import PatientParser, Triples
from kg_service.patient.rdf_document import parse_rdf_patient
from kg_service.patient.validation import CompiledPatientShapes, validate_patient
from kg_service.reasoning.answer import build_answer
from kg_service.reasoning.pipeline import EligibilityPipeline
from kg_service.store.oxigraph import OxigraphStore
from kg_service.store.remote import RemoteStore

JSON_TYPES = {"application/json", "text/json"}
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}


@dataclass
class PreparedPatient:
    graph: Graph | Triples  # RDF input: a Graph; JSON: a set of triples
    patient_id: str
    warnings: list[str]


class Reasoner:
    """Everything parsed and prepared at construction; `recommend` and `validate` do per-request work only."""

    def __init__(
        self,
        graph: Graph | None = None,
        extra_files: list[Path] | None = None,
        validator: str | None = None,
        sparql_endpoint: str | None = None,
        threads: int | None = None,
    ):
        """validator: "sparql" (the patient shapes compiled to SPARQL, the default) or "pyshacl" (the reference).
        sparql_endpoint: an external SPARQL server holding the graph (default: $MBC_KG_SPARQL_ENDPOINT; unset:
        the embedded Oxigraph store).
        threads: how many independent queries of one request may run at once (default: $MBC_KG_QUERY_THREADS,
        else the cores available, at most 4); 1 where processes already share the cores (screening)."""
        started = time.perf_counter()
        self.validator = validator or os.environ.get("MBC_KG_VALIDATOR", "sparql")
        if self.validator not in ("sparql", "pyshacl"):
            raise ValueError(f"unknown validator {self.validator!r}: use 'sparql' or 'pyshacl'")
        self.graph = graph if graph is not None else load_graph(extra_files=extra_files or [])
        self.vocabulary: Vocabulary = read_vocabulary(self.graph)
        self.catalog: GraphCatalog = read_catalog(self.graph)
        self.parser = PatientParser(self.vocabulary)
        self.store = OxigraphStore(self.graph)  # embedded: catalog queries, and the derivation by default
        endpoint = sparql_endpoint if sparql_endpoint is not None else os.environ.get("MBC_KG_SPARQL_ENDPOINT")
        self.backend = RemoteStore(endpoint) if endpoint else self.store
        self.threads = threads if threads is not None else default_threads()
        self.pipeline = EligibilityPipeline(self.backend, threads=self.threads)
        load_shapes("patient-shapes.ttl")
        self.compiled_shapes = CompiledPatientShapes(self.vocabulary)
        if self.threads > 1:  # the weights only deal a stage over threads; timed on the embedded store
            with self.store.patient_graph([]) as empty:
                self.pipeline.measure(empty)
        self.startup_seconds = time.perf_counter() - started

    @property
    def version(self) -> str:
        return self.catalog.version

    def parse(
        self, body: Any, content_type: str = "application/json", today: dt.date | None = None
    ) -> tuple[PreparedPatient, list[Violation]]:
        """Parse a patient (a JSON document, or RDF text) into a graph; violations the parser itself found."""
        media = (content_type or "application/json").split(";")[0].strip().lower()
        if media in RDF_TYPES:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            graph, patient_id, violations = parse_rdf_patient(text, RDF_TYPES[media], self.vocabulary, today)
            return PreparedPatient(graph, patient_id, []), violations
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest(f"the body is not valid JSON: {exc}") from exc
        parsed = self.parser.parse(body, today=today)
        return PreparedPatient(parsed.graph, parsed.patient_id, parsed.warnings), parsed.violations

    def _violations(self, prepared: PreparedPatient, parse_violations: list[Violation], scope) -> list[Violation]:
        if self.validator == "pyshacl":
            found = validate_patient(prepared.graph, self.vocabulary)
        else:
            found = [v for items in self.compiled_shapes.validate(scope, self.threads).values() for v in items]
        return sorted(set(parse_violations + found), key=lambda v: (v.field, v.message))

    def recommend(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        """The contract's answer for one patient; raise InvalidPatient with every violation, or BadRequest."""
        prepared, parse_violations = self.parse(body, content_type, today)
        with self.backend.patient_graph(prepared.graph) as scope:
            violations = self._violations(prepared, parse_violations, scope)
            if violations:
                raise InvalidPatient(violations)
            derivation = self.pipeline.run_in(scope)
        return build_answer(prepared.patient_id, self.catalog, derivation, prepared.warnings)

    def validate(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        """The validation verdict as a value: valid, or every violation."""
        prepared, parse_violations = self.parse(body, content_type, today)
        with self.backend.patient_graph(prepared.graph) as scope:
            violations = self._violations(prepared, parse_violations, scope)
        if violations:
            return {"valid": False, "violations": [v.as_dict() for v in violations]}
        return {"valid": True, "patient_id": prepared.patient_id, "violations": [], "warnings": prepared.warnings}


__all__ = ["Reasoner", "InvalidPatient", "BadRequest", "Violation"]
