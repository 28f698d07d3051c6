"""Judging a patient graph against shapes/patient-shapes.ttl; each violation names the JSON field.

Two engines read the same shapes: the shapes compiled to SPARQL and run on Oxigraph (the default, fast, and
able to judge a whole batch of patients in one query), and pySHACL (the reference; `tests/test_shacl_sparql.py`
shows both find the same violations)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from rdflib import RDF, Graph, Literal, URIRef

from kg_service.core.errors import Violation
from kg_service.core.namespaces import MBC
from kg_service.core.parallel import map_queries
from kg_service.graph.shapes import SH, load_shapes, validation_results
from kg_service.graph.vocabulary import Vocabulary
from kg_service.patient.shacl_compiler import compile_shapes
from kg_service.store.oxigraph import PatientScope

PATIENT_SHAPES = "patient-shapes.ttl"
log = logging.getLogger("kg_service.patient.validation")


def _shown(value, vocab: Vocabulary) -> str | None:
    if value is None:
        return None
    if isinstance(value, Literal):
        return repr(str(value))
    if isinstance(value, URIRef):
        code = vocab.code_of(value)
        return repr(code) if code is not None else None
    return None


def _violation(shapes: Graph, vocab: Vocabulary, field_of, focus, source, message: str, value) -> Violation:
    base = field_of(focus) if focus is not None else ""
    name = shapes.value(source, SH.name) if source is not None else None
    if name is not None:
        field = f"{base}.{name}" if base else str(name)
    else:
        field = base or "(document)"
    if value is not None:
        message = message.replace("{?value}", str(value)).replace("{$value}", str(value))
    shown = _shown(value, vocab)
    if shown and str(value) not in message and value != focus:
        message = f"{message} (got {shown})"
    return Violation(field, message)


def _sorted(found: set[Violation]) -> list[Violation]:
    return sorted(found, key=lambda v: (v.field, v.message))


def validate_patient(graph: Graph | Iterable, vocab: Vocabulary) -> list[Violation]:
    """pySHACL, the reference engine: every violation at once, sorted by field; empty means conforming."""
    shapes = load_shapes(PATIENT_SHAPES)
    if not isinstance(graph, Graph):  # JSON patients are sets of triples
        triples, graph = graph, Graph()
        graph += triples
    conforms, report = validation_results(graph, shapes)
    if conforms:
        return []
    found: set[Violation] = set()

    def field_of(focus) -> str:
        return str(graph.value(focus, MBC.inputField) or "")

    for result in report.subjects(SH.resultSeverity, None):
        found.add(
            _violation(
                shapes,
                vocab,
                field_of,
                report.value(result, SH.focusNode),
                report.value(result, SH.sourceShape),
                str(report.value(result, SH.resultMessage) or "is invalid"),
                report.value(result, SH.value),
            )
        )
    return _sorted(found)


def residual_shapes(shapes: Graph, refused) -> Graph:
    """The shapes the compiler refused, with everything they reach (their property shapes, lists, nested
    shapes, prefix declarations): the graph pySHACL checks in their place."""
    residual = Graph()
    stack, seen = list(refused), set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for predicate, value in shapes.predicate_objects(node):
            residual.add((node, predicate, value))
            if predicate not in (RDF.type, SH.targetClass) and (value, None, None) in shapes:
                stack.append(value)
    return residual


class CompiledPatientShapes:
    """The patient shapes as SPARQL queries, compiled once; judges whatever patients a scope holds. A shape
    the compiler cannot check exactly (it says why, in `refused`) is checked by pySHACL instead, on the
    patients' own triples."""

    SUBCLASSES = "SELECT ?c WHERE { ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?d } LIMIT 1"
    FIELDS = (
        "PREFIX mbc: <https://w3id.org/mbc-kg/ontology#> "
        "SELECT ?node ?field ?patient WHERE { ?node mbc:inputField ?field . "
        "OPTIONAL { ?patient mbc:hasHER2Result|mbc:hasBiomarkerResult|mbc:hasTherapyLine ?node } }"
    )

    def __init__(self, vocab: Vocabulary, shapes: Graph | None = None):
        self.shapes = shapes if shapes is not None else load_shapes(PATIENT_SHAPES)
        compiled = compile_shapes(self.shapes)
        self.checks, self.texts, self.refused = compiled.checks, compiled.queries, compiled.refused
        self.compiled = compiled
        self.residual = residual_shapes(self.shapes, self.refused) if self.refused else None
        for shape, why in self.refused.items():  # loudly: each refused shape costs pySHACL on every request
            log.warning("shape %s is checked by pySHACL, not compiled: %s", shape, why)
        self.vocab = vocab

    def validate(self, scope: PatientScope, threads: int = 1) -> dict[URIRef, list[Violation]]:
        """Violations per patient IRI (patients without violations are absent); the queries only read, so
        they may run on `threads` threads."""
        subclasses = bool(scope.select(self.SUBCLASSES, patient_only=True))
        texts = self.compiled.for_data(subclasses)
        found = self.judge(scope, map_queries(lambda text: scope.select(text, patient_only=True), texts, threads))
        if self.residual is not None:
            for patient, items in self.reference(scope).items():
                found[patient] = _sorted(set(found.get(patient, [])) | set(items))
        return found

    def _fields(self, scope: PatientScope) -> tuple[dict, dict]:
        fields, owner = {}, {}
        for row in scope.select(self.FIELDS, patient_only=True):
            fields[row["node"]] = str(row["field"])
            owner[row["node"]] = row["patient"] if row["patient"] is not None else row["node"]
        return fields, owner

    def reference(self, scope: PatientScope) -> dict[URIRef, list[Violation]]:
        """pySHACL's violations of the refused shapes, per patient, on the patients' own triples."""
        data = Graph()
        for row in scope.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", patient_only=True):
            data.add((row["s"], row["p"], row["o"]))
        conforms, report = validation_results(data, self.residual)
        if conforms:
            return {}
        fields, owner = self._fields(scope)
        found: dict[URIRef, set[Violation]] = {}
        for result in report.subjects(SH.resultSeverity, None):
            focus = report.value(result, SH.focusNode)
            violation = _violation(
                self.shapes,
                self.vocab,
                lambda node: fields.get(node, ""),
                focus,
                report.value(result, SH.sourceShape),
                str(report.value(result, SH.resultMessage) or "is invalid"),
                report.value(result, SH.value),
            )
            found.setdefault(owner.get(focus, focus), set()).add(violation)
        return {patient: _sorted(items) for patient, items in found.items()}

    def judge(self, scope: PatientScope, results: list[list[dict]]) -> dict[URIRef, list[Violation]]:
        """The violations in the rows of `texts` (run over the patients' graph alone, in order). The input
        fields of the offending nodes are looked up only when there is a violation to name."""
        if not any(results):
            return {}
        fields, owner = self._fields(scope)
        found: dict[URIRef, set[Violation]] = {}
        for rows in results:
            for row in rows:
                focus = row["this"]
                check = self.checks[str(row["check"])]
                violation = _violation(
                    self.shapes,
                    self.vocab,
                    lambda node: fields.get(node, ""),
                    focus,
                    check.shape,
                    check.message,
                    row["value"],
                )
                found.setdefault(owner.get(focus, focus), set()).add(violation)
        return {patient: _sorted(items) for patient, items in found.items()}
