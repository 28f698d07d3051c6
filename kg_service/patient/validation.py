"""Judging a patient graph against shapes/patient-shapes.ttl; each violation names the JSON field.

Two engines read the same shapes: the shapes compiled to SPARQL and run on Oxigraph (the default, fast, and
able to judge a whole batch of patients in one query), and pySHACL (the reference; `tests/test_shacl_sparql.py`
shows both find the same violations)."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph, Literal, URIRef

from kg_service.core.errors import Violation
from kg_service.core.namespaces import MBC
from kg_service.core.parallel import map_queries
from kg_service.graph.shapes import SH, load_shapes, validation_results
from kg_service.graph.vocabulary import Vocabulary
from kg_service.patient.shacl_compiler import compile_shapes
from kg_service.store.oxigraph import PatientScope

PATIENT_SHAPES = "patient-shapes.ttl"


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


class CompiledPatientShapes:
    """The patient shapes as SPARQL queries, compiled once; judges whatever patients a scope holds."""

    FIELDS = (
        "PREFIX mbc: <https://w3id.org/mbc-kg/ontology#> "
        "SELECT ?node ?field ?patient WHERE { ?node mbc:inputField ?field . "
        "OPTIONAL { ?patient mbc:hasHER2Result|mbc:hasBiomarkerResult|mbc:hasTherapyLine ?node } }"
    )

    def __init__(self, vocab: Vocabulary):
        self.shapes = load_shapes(PATIENT_SHAPES)
        compiled = compile_shapes(self.shapes)
        self.checks, self.texts = compiled.checks, compiled.queries
        self.vocab = vocab

    def validate(self, scope: PatientScope, threads: int = 1) -> dict[URIRef, list[Violation]]:
        """Violations per patient IRI (patients without violations are absent); the queries only read, so
        they may run on `threads` threads."""
        return self.judge(scope, map_queries(lambda text: scope.select(text, patient_only=True), self.texts, threads))

    def judge(self, scope: PatientScope, results: list[list[dict]]) -> dict[URIRef, list[Violation]]:
        """The violations in the rows of `texts` (run over the patients' graph alone, in order). The input
        fields of the offending nodes are looked up only when there is a violation to name."""
        if not any(results):
            return {}
        fields, owner = {}, {}
        for row in scope.select(self.FIELDS, patient_only=True):
            fields[row["node"]] = str(row["field"])
            owner[row["node"]] = row["patient"] if row["patient"] is not None else row["node"]
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
