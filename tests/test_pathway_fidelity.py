"""The graph holds the pathway document exactly: its 18 steps, their labels and notes verbatim, its 34
parent-to-child links in document order, and every reference it lists. The document is read here with a
parser of its own, independent of scripts/extract_pathway.py."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, RDFS, Graph, URIRef

from kg_service.core.namespaces import MBC

from .conftest import ROOT

SOURCE = (ROOT / "ontology" / "source" / "open-medicine-mbc-hr-pathway.txt").read_text(encoding="utf-8")
DCTERMS_TITLE = "http://purl.org/dc/terms/title"


def document_tree():
    """(labels in order, notes by label, edges as (parent, child, position))."""
    labels, notes, edges, stack = [], {}, [], []
    last = None
    for line in SOURCE.splitlines():
        if not line.startswith("  ") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        match = re.match(r"^(?:1\.|•) (.+)$", text)
        if match:
            label = match.group(1)
            stack = [(i, lab) for i, lab in stack if i < indent]
            if label not in labels:
                labels.append(label)
            if stack:
                parent = stack[-1][1]
                if not any(p == parent and c == label for p, c, _ in edges):
                    edges.append((parent, label, sum(1 for p, _, _ in edges if p == parent) + 1))
            stack.append((indent, label))
            last = label
        elif last is not None:
            notes[last] = text
    return labels, notes, edges


LABELS, NOTES, EDGES = document_tree()


def step_by_label(graph: Graph) -> dict:
    return {str(graph.value(s, RDFS.label)): s for s in graph.subjects(RDF.type, MBC.PathwayStep)}


def test_document_shape():
    assert (len(LABELS), len(NOTES), len(EDGES)) == (18, 17, 34)


def test_every_step_once_with_its_exact_label(graph):
    steps = step_by_label(graph)
    assert sorted(steps) == sorted(LABELS)
    assert len(set(graph.subjects(RDF.type, MBC.PathwayStep))) == 18


@pytest.mark.parametrize("label", LABELS)
def test_note_verbatim(graph, label):
    step = step_by_label(graph)[label]
    note = graph.value(step, MBC.stepNote)
    assert (str(note) if note is not None else None) == NOTES.get(label)


def test_all_links_and_no_others(graph):
    steps = step_by_label(graph)
    names = {v: k for k, v in steps.items()}
    found = {(names[p], names[c]) for p, c in graph.subject_objects(MBC.hasChild)}
    assert found == {(p, c) for p, c, _ in EDGES}


def test_child_order_as_in_the_document(graph):
    steps = step_by_label(graph)
    for parent, child, position in EDGES:
        edges = [e for e in graph.subjects(MBC.edgeSource, steps[parent]) if (e, MBC.edgeTarget, steps[child]) in graph]
        assert len(edges) == 1
        assert int(graph.value(edges[0], MBC.childOrder)) == position


def test_references_split_from_the_run_together_paragraph(graph):
    paragraph = SOURCE.strip().splitlines()[-1]
    kinds = (
        MBC.JournalArticle,
        MBC.RegulatoryAnnouncement,
        MBC.TrialRecord,
        MBC.GuidelineReference,
        MBC.EducationalMedia,
    )
    refs = [r for kind in kinds for r in graph.subjects(RDF.type, kind)]
    ordered = sorted(refs, key=lambda r: int(graph.value(r, MBC.documentOrder)))
    titles = [str(graph.value(r, URIRef(DCTERMS_TITLE))) for r in ordered]
    assert "tosprivacy" + "".join(titles) == paragraph
    assert [int(graph.value(r, MBC.documentOrder)) for r in ordered] == list(range(1, len(ordered) + 1))
