"""Load the knowledge graph: the ontology's Turtle files, the SSSOM mappings, and derived links."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, URIRef

from kg_service.core.resources import data_dir
from kg_service.graph import queries as query_catalog


def ontology_files(ontology_dir: Path | None = None) -> list[Path]:
    """The Turtle files that make up the graph, in a stable order."""
    root = ontology_dir or data_dir("ontology")
    return sorted(root.glob("*.ttl"))


def mapping_files(ontology_dir: Path | None = None) -> list[Path]:
    root = ontology_dir or data_dir("ontology")
    return sorted((root / "mappings").glob("*.sssom.tsv"))


def read_sssom(path: Path) -> Iterable[tuple[URIRef, URIRef, URIRef]]:
    """Yield (subject, predicate, object) IRIs from an SSSOM/TSV file, expanding CURIEs with its curie_map."""
    curie_map: dict[str, str] = {}
    body: list[str] = []
    in_map = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line[1:]
            if text.strip() == "curie_map:":
                in_map = True
            elif in_map and text.startswith("  ") and ":" in text:
                prefix, _, iri = text.strip().partition(":")
                curie_map[prefix.strip()] = iri.strip()
            else:
                in_map = False
        elif line.strip():
            body.append(line)

    def expand(curie: str) -> URIRef:
        prefix, sep, local = curie.partition(":")
        if not sep or prefix not in curie_map:
            raise ValueError(f"{path.name}: CURIE {curie!r} has no prefix in the curie_map")
        return URIRef(curie_map[prefix] + local)

    for row in csv.DictReader(body, delimiter="\t"):
        yield expand(row["subject_id"]), expand(row["predicate_id"]), expand(row["object_id"])


def materialise(graph: Graph, query_name: str, max_rounds: int = 50) -> int:
    """Add the triples a CONSTRUCT query derives, repeating until nothing new appears."""
    query = query_catalog.load(query_name)
    added = 0
    for _ in range(max_rounds):
        new = [t for t in graph.query(query) if t not in graph]
        if not new:
            return added
        for triple in new:
            graph.add(triple)
        added += len(new)
    raise RuntimeError(f"{query_name} did not reach a fixpoint in {max_rounds} rounds (a cycle?)")


def load_graph(ontology_dir: Path | None = None, extra_files: Iterable[Path] = ()) -> Graph:
    """Parse every ontology file (plus any extra Turtle files), the mappings, and derive next steps."""
    graph = Graph()
    for path in [*ontology_files(ontology_dir), *extra_files]:
        graph.parse(path, format="turtle")
    for path in mapping_files(ontology_dir):
        for triple in read_sssom(path):
            graph.add(triple)
    materialise(graph, "derive/next-treatment-steps")
    materialise(graph, "derive/drug-class-closure")
    return graph
