"""The graph for download: the OWL vocabulary alone, or the whole graph, in four RDF syntaxes."""

from __future__ import annotations

from functools import lru_cache

from rdflib import Graph

from kg_service.core.resources import data_dir

MEDIA_TYPES = {
    "text/turtle": ("turtle", "ttl"),
    "application/rdf+xml": ("xml", "owl"),
    "application/ld+json": ("json-ld", "jsonld"),
    "application/n-triples": ("nt", "nt"),
}
FORMAT_NAMES = {
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "xml": "application/rdf+xml",
    "owl": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
}


def ontology_graph() -> Graph:
    """The OWL vocabulary (classes, properties, value sets, drug-class hierarchy): what Protégé opens."""
    graph = Graph()
    graph.parse(data_dir("ontology") / "mbc-ontology.ttl", format="turtle")
    return graph


class Exporter:
    """Serialisations made once, on first use, and kept."""

    def __init__(self, full_graph: Graph):
        self.graphs = {"graph": full_graph, "ontology": ontology_graph()}
        for graph in self.graphs.values():
            graph.bind("mbc", "https://w3id.org/mbc-kg/ontology#")
            graph.bind("skos", "http://www.w3.org/2004/02/skos/core#")

    @lru_cache(maxsize=16)  # noqa: B019 - one exporter per process, kept for its lifetime
    def serialize(self, which: str, media_type: str) -> bytes:
        rdf_format = MEDIA_TYPES[media_type][0]
        data = self.graphs[which].serialize(format=rdf_format, encoding="utf-8")
        return data if isinstance(data, bytes) else data.encode("utf-8")
