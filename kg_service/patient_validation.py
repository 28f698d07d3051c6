"""Judging a patient graph against shapes/patient-shapes.ttl; each violation names the JSON field."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef

from .errors import Violation
from .namespaces import MBC
from .shacl import SH, load_shapes, validation_results
from .vocabulary import Vocabulary

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


def validate_patient(graph: Graph, vocab: Vocabulary) -> list[Violation]:
    """Every violation at once, sorted by field; an empty list means the patient conforms."""
    shapes = load_shapes(PATIENT_SHAPES)
    conforms, report = validation_results(graph, shapes)
    if conforms:
        return []
    found: set[Violation] = set()
    for result in report.subjects(SH.resultSeverity, None):
        focus = report.value(result, SH.focusNode)
        source = report.value(result, SH.sourceShape)
        message = str(report.value(result, SH.resultMessage) or "is invalid")
        value = report.value(result, SH.value)
        base = str(graph.value(focus, MBC.inputField) or "") if focus is not None else ""
        name = shapes.value(source, SH.name) if source is not None else None
        if name is not None:
            field = f"{base}.{name}" if base else str(name)
        else:
            field = base or "(document)"
        shown = _shown(value, vocab)
        if shown and str(value) not in message and value != focus:
            message = f"{message} (got {shown})"
        found.add(Violation(field, message))
    return sorted(found, key=lambda v: (v.field, v.message))
