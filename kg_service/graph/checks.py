"""`mbc-kg check`: the knowledge graph against its SHACL shapes, HermiT, and the SPARQL checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph

from kg_service.graph import queries as query_catalog
from kg_service.graph.owl import classify
from kg_service.graph.shapes import load_shapes, shacl_messages


@dataclass
class CheckReport:
    shape_violations: list[str] = field(default_factory=list)
    sparql_violations: list[str] = field(default_factory=list)
    reasoner_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.shape_violations or self.sparql_violations or self.reasoner_problems)

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("SHACL shapes", self.shape_violations),
            ("SPARQL checks", self.sparql_violations),
            ("OWL reasoner (HermiT)", self.reasoner_problems),
        ):
            out.append(f"{title}: {'ok' if not items else f'{len(items)} problem(s)'}")
            out.extend(f"  - {item}" for item in items)
        return out


def validate_graph_shapes(graph: Graph) -> list[str]:
    """Every violation of shapes/graph-shapes.ttl, in plain words."""
    return shacl_messages(graph, load_shapes("graph-shapes.ttl"))


def run_sparql_checks(graph: Graph) -> list[str]:
    """Run every query in queries/checks/; each row is a violation with a ?message."""
    problems = []
    for name in query_catalog.names("checks"):
        for row in graph.query(query_catalog.load(name)):
            problems.append(f"{name.split('/')[-1]}: {row[0]}")
    return problems


def check_graph(graph: Graph, reasoner: bool = True) -> CheckReport:
    report = CheckReport(
        shape_violations=validate_graph_shapes(graph),
        sparql_violations=run_sparql_checks(graph),
    )
    if reasoner:
        result = classify(graph)
        if result.error:
            report.reasoner_problems.append(result.error)
        report.reasoner_problems.extend(f"unsatisfiable class {iri}" for iri in result.unsatisfiable)
    return report
