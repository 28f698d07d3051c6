"""Run a catalog query by name, with parameters bound, on Oxigraph (default) or on rdflib.

Parameters are SPARQL variables bound before evaluation (pyoxigraph `substitutions`, rdflib `initBindings`),
so the .rq files stay plain SPARQL 1.1 that any engine runs unchanged, unbound.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef, Variable

from kg_service.core.namespaces import PREFIXES
from kg_service.graph import queries as query_catalog
from kg_service.store.oxigraph import OxigraphStore, from_ox, to_ox


class UnknownParameter(ValueError):
    pass


@dataclass
class Rows:
    variables: list[str]
    rows: list[dict]


def parse_value(text: str) -> URIRef | Literal:
    """'<iri>', a CURIE with a known prefix, an http(s) IRI, or else a plain literal."""
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    if text.startswith(("http://", "https://", "urn:")):
        return URIRef(text)
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES:
        return URIRef(PREFIXES[prefix] + local)
    return Literal(text)


def _bindings(name: str, params: dict[str, str] | None) -> dict[str, URIRef | Literal]:
    allowed = query_catalog.parameters(name)
    out = {}
    for key, value in (params or {}).items():
        if key not in allowed:
            takes = ", ".join(allowed) or "none"
            raise UnknownParameter(f"query {name!r} has no parameter {key!r} (it takes: {takes})")
        out[key] = parse_value(value) if isinstance(value, str) else value
    return out


def run_oxigraph(store: OxigraphStore, name: str, params: dict[str, str] | None = None) -> Rows:
    bindings = _bindings(name, params)
    result = store.store.query(
        query_catalog.load(name), substitutions={ox.Variable(k): to_ox(v) for k, v in bindings.items()}
    )
    variables = [v.value for v in result.variables]
    rows = [{n: from_ox(row[n]) for n in variables} for row in result]
    for row in rows:  # a bound parameter is part of every answer row, as with rdflib's initBindings
        for key, value in bindings.items():
            if key in row and row[key] is None:
                row[key] = value
    return Rows(variables, rows)


def run_rdflib(graph: Graph, name: str, params: dict[str, str] | None = None) -> Rows:
    bindings = _bindings(name, params)
    result = graph.query(query_catalog.load(name), initBindings={Variable(k): v for k, v in bindings.items()})
    variables = [str(v) for v in result.vars]
    return Rows(variables, [{n: row[n] for n in variables} for row in result])
