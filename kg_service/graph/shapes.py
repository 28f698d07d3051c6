"""SHACL set-up: shapes parsed once, validation with pyshacl, results turned into plain words."""

from __future__ import annotations

from functools import cache

from pyshacl import validate
from rdflib import Graph, Namespace, URIRef

from kg_service.core.resources import data_dir

SH = Namespace("http://www.w3.org/ns/shacl#")


@cache
def load_shapes(name: str) -> Graph:
    """Parse shapes/<name> once."""
    graph = Graph()
    graph.parse(data_dir("shapes") / name, format="turtle")
    return graph


def validation_results(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    conforms, report, _ = validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=False,
        allow_warnings=True,
        abort_on_first=False,
    )
    return conforms, report


def shacl_messages(data: Graph, shapes: Graph) -> list[str]:
    """Each violation as '<focus node> <path>: <message>'."""
    conforms, report = validation_results(data, shapes)
    if conforms:
        return []
    messages = []
    for result in report.subjects(URIRef(str(SH) + "resultSeverity"), None):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        where = f"{focus}" + (f" {path}" if isinstance(path, URIRef) else "")
        messages.append(f"{where}: {message}")
    return sorted(set(messages))
