"""The reasoner: load and prepare everything once, then validate, derive and explain per patient."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef

from kg_service.core.errors import BadRequest, InvalidPatient, Violation
from kg_service.core.parallel import default_threads
from kg_service.graph.catalog import GraphCatalog, read_catalog
from kg_service.graph.loader import load_graph
from kg_service.graph.shapes import load_shapes
from kg_service.graph.vocabulary import Vocabulary, read_vocabulary
from kg_service.patient.fhir import FhirAdapter, FhirConversion, is_fhir_bundle
from kg_service.patient.json_document import PatientParser, Triples
from kg_service.patient.json_text import check_document, own_copy, parse_json, supersede
from kg_service.patient.rdf_document import parse_rdf_patient
from kg_service.patient.validation import CompiledPatientShapes, validate_patient
from kg_service.reasoning.answer import build_answer
from kg_service.reasoning.pipeline import Derivation, EligibilityPipeline
from kg_service.store.oxigraph import OxigraphStore
from kg_service.store.remote import RemoteStore

FHIR_TYPE = "application/fhir+json"  # a FHIR R4 Bundle (also recognised in any JSON body by its resourceType)
JSON_TYPES = {"application/json", "text/json", FHIR_TYPE}
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}


@dataclass
class PreparedPatient:
    graph: Graph | Triples  # RDF input: a Graph; JSON: a set of triples
    patient_id: str
    warnings: list[str]
    # JSON input: the patient's IRI, minted by the parser, whose triples are all about that patient's own
    # nodes, so that it may share a batch (judge_many); None (RDF input, which may name any node): judged alone
    patient: URIRef | None = None
    # FHIR input: the conversion, which names each violation of the document by its FHIR element
    fhir: FhirConversion | None = None

    def named(self, violations: list[Violation]) -> list[Violation]:
        """FHIR input: the document's violations by FHIR element; none when the bundle describes no patient
        the document could hold (its own violations say why)."""
        if self.fhir is None:
            return violations
        return [] if self.fhir.fatal else self.fhir.name_elements(violations)


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
            body = parse_json(body)  # strict JSON: BadRequest for a body that is not JSON at all
        else:
            body = own_copy(body)  # check_document may cut it down: never the caller's own object
        if media == FHIR_TYPE or is_fhir_bundle(body):
            return self._parse_fhir(body, today)
        text_violations = check_document(body)  # NaN, repeated names, codes as numbers, no dates, size limits
        parsed = self.parser.parse(body, today=today)
        violations = supersede(text_violations, parsed.violations) if text_violations else parsed.violations
        return PreparedPatient(parsed.graph, parsed.patient_id, parsed.warnings, parsed.patient), violations

    _fhir: FhirAdapter | None = None
    _fhir_lock = threading.Lock()  # one for every reasoner of the process: the build takes some 20 ms

    @property
    def fhir(self) -> FhirAdapter:
        """The FHIR R4 adapter (the code mapping is read from the graph): built on first use under a lock, so
        that concurrent first FHIR requests build one; a server builds it at start-up (http/state.prepare)."""
        adapter = self._fhir
        if adapter is None:
            with self._fhir_lock:
                adapter = self._fhir
                if adapter is None:
                    vocabulary = self.vocabulary
                    names = {name: vocabulary.generic_names[drug] for name, drug in vocabulary.drugs_by_name.items()}
                    adapter = self._fhir = FhirAdapter(self.store, names)
        return adapter

    def _parse_fhir(self, body: Any, today: dt.date | None) -> tuple[PreparedPatient, list[Violation]]:
        """A FHIR Bundle: converted to the patient document, which is then parsed like any other; every
        violation names the FHIR element behind its field, and the conversion's notes go in the warnings."""
        conversion = self.fhir.convert(body)
        text_violations = check_document(conversion.document)
        parsed = self.parser.parse(conversion.document, today=today)
        parsed.graph.update(conversion.not_stated_triples(parsed.graph, parsed.patient))  # what the record leaves out
        found = supersede(text_violations, parsed.violations) if text_violations else parsed.violations
        prepared = PreparedPatient(
            parsed.graph, parsed.patient_id, conversion.warnings + parsed.warnings, parsed.patient, conversion
        )
        return prepared, conversion.violations + prepared.named(found)

    def _violations(self, prepared: PreparedPatient, parse_violations: list[Violation], scope) -> list[Violation]:
        if self.validator == "pyshacl":
            found = validate_patient(prepared.graph, self.vocabulary)
        else:
            found = [v for items in self.compiled_shapes.validate(scope, self.threads).values() for v in items]
        return supersede(parse_violations, prepared.named(found))

    def recommend(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        """The contract's answer for one patient; raise InvalidPatient with every violation, or BadRequest."""
        violations, answer = self._judge_one(self.parse(body, content_type, today), derive=True)
        if violations:
            raise InvalidPatient(violations)
        return answer

    def validate(self, body: Any, content_type: str = "application/json", today: dt.date | None = None) -> dict:
        """The validation verdict as a value: valid, or every violation."""
        parsed = self.parse(body, content_type, today)
        violations, _ = self._judge_one(parsed, derive=False)
        return verdict(parsed[0], violations)

    def recommend_many(
        self, bodies: list[Any], content_type: str = "application/json", today: dt.date | None = None
    ) -> list[dict | BadRequest | InvalidPatient]:
        """recommend for each body, evaluated as one batch: each item is the answer, or the exception that
        recommend would raise for that body alone (BadRequest, InvalidPatient)."""
        return self._many(bodies, content_type, today, derive=True)

    def validate_many(
        self, bodies: list[Any], content_type: str = "application/json", today: dt.date | None = None
    ) -> list[dict | BadRequest]:
        """validate for each body, evaluated as one batch: each item is the verdict, or a BadRequest."""
        return self._many(bodies, content_type, today, derive=False)

    def _many(self, bodies: list[Any], content_type: str, today: dt.date | None, derive: bool) -> list:
        outcomes: list = [None] * len(bodies)
        parsed, positions = [], []
        for position, body in enumerate(bodies):
            try:
                parsed.append(self.parse(body, content_type, today))
                positions.append(position)
            except BadRequest as exc:
                outcomes[position] = exc
        for position, item, judged in zip(positions, parsed, self.judge_many(parsed, derive), strict=True):
            if isinstance(judged, Exception):
                outcomes[position] = judged
            elif derive:
                outcomes[position] = InvalidPatient(judged[0]) if judged[0] else judged[1]
            else:
                outcomes[position] = verdict(item[0], judged[0])
        return outcomes

    def judge_many(
        self, patients: list[tuple[PreparedPatient, list[Violation]]], derive: list[bool] | bool = True
    ) -> list[tuple[list[Violation], dict | None] | Exception]:
        """Validate parsed patients together, and derive those that are valid and asked for (`derive`), in
        one patient graph, so that each query runs once for the whole batch. For each patient, in order: its
        violations (sorted; empty when valid) and its answer (None when invalid or not asked for), or the
        exception its evaluation raised. Each patient gets the outcome it gets alone: patients that cannot
        share a batch (RDF input), and every patient of a batch that cannot be split exactly by patient (a
        violation or a row that names no patient of the batch) or that fails, are judged one at a time; an
        invalid or validate-only patient is never part of another patient's derivation."""
        wanted = [derive] * len(patients) if isinstance(derive, bool) else list(derive)
        together = [i for i, (prepared, _) in enumerate(patients) if prepared.patient is not None]
        outcomes: list = [None] * len(patients)
        if len(together) > 1 and len({patients[i][0].patient for i in together}) == len(together):
            try:
                shared = self._judge_together([patients[i] for i in together], [wanted[i] for i in together])
            except Exception:  # noqa: BLE001 - then each patient alone, so that a failure stays its patient's own
                shared = None
            if shared is not None:
                for i, outcome in zip(together, shared, strict=True):
                    outcomes[i] = outcome
        for i, item in enumerate(patients):
            if outcomes[i] is None:
                try:
                    outcomes[i] = self._judge_one(item, wanted[i])
                except Exception as exc:  # noqa: BLE001 - reported to that patient's caller
                    outcomes[i] = exc
        return outcomes

    def _judge_one(self, item: tuple[PreparedPatient, list[Violation]], derive: bool):
        prepared, parse_violations = item
        with self.backend.patient_graph(prepared.graph) as scope:
            violations = self._violations(prepared, parse_violations, scope)
            if violations or not derive:
                return violations, None
            derivation = self.pipeline.run_in(scope)
        return [], build_answer(prepared.patient_id, self.catalog, derivation, prepared.warnings)

    def _judge_together(self, patients: list[tuple[PreparedPatient, list[Violation]]], wanted: list[bool]):
        """judge_many over one patient graph; None when the batch cannot be split exactly by patient."""
        iris = [prepared.patient for prepared, _ in patients]
        with self.backend.patient_graph([t for prepared, _ in patients for t in prepared.graph]) as scope:
            if self.validator == "pyshacl":
                found = {p.patient: validate_patient(p.graph, self.vocabulary) for p, _ in patients}
            else:
                found = self.compiled_shapes.validate(scope, self.threads)
                if set(found) - set(iris):
                    return None
            violations = [
                supersede(parse, prepared.named(found.get(iri, [])))
                for iri, (prepared, parse) in zip(iris, patients, strict=True)
            ]
            chosen = [i for i, want in enumerate(wanted) if want and not violations[i]]
            derivations: dict | None = {}
            if chosen and len(chosen) == len(patients):
                derivations = self._split(self.pipeline.run_in(scope), iris)
        if chosen and len(chosen) < len(patients):  # the others stay out of the derivation
            with self.backend.patient_graph([t for i in chosen for t in patients[i][0].graph]) as scope:
                derivations = self._split(self.pipeline.run_in(scope), [iris[i] for i in chosen])
        if derivations is None:
            return None
        outcomes: list = []
        derived = set(chosen)
        for index, (prepared, _) in enumerate(patients):
            if index in derived:
                answer = build_answer(prepared.patient_id, self.catalog, derivations[iris[index]], prepared.warnings)
                outcomes.append(([], answer))
            else:
                outcomes.append((violations[index], None))
        return outcomes

    @staticmethod
    def _split(derivation: Derivation, iris: list) -> dict | None:
        """Each patient's rows of a batch's derivation; None when a row names no patient of the batch."""
        by_patient: dict = {iri: {name: [] for name in derivation.rows} for iri in iris}
        for name, rows in derivation.rows.items():
            for row in rows:
                own = by_patient.get(row.get("patient"))
                if own is None:
                    return None
                own[name].append(row)
        return {iri: Derivation(rows=rows) for iri, rows in by_patient.items()}


def verdict(prepared: PreparedPatient, violations: list[Violation]) -> dict:
    """The validation verdict as a value: valid, or every violation."""
    if violations:
        return {"valid": False, "violations": [v.as_dict() for v in violations]}
    return {"valid": True, "patient_id": prepared.patient_id, "violations": [], "warnings": prepared.warnings}


__all__ = ["Reasoner", "InvalidPatient", "BadRequest", "Violation"]
