"""External identifiers: every pathway drug and gene is linked, and no link contradicts the verified ones
recorded in docs/reference/external-ids.md (marked ✓ there)."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, Literal, URIRef
from rdflib.namespace import SKOS

from kg_service.core.namespaces import MBC

from .conftest import ROOT

REFERENCE = (ROOT / "docs" / "reference" / "external-ids.md").read_text(encoding="utf-8")
# identifiers the project added and checked itself (the shared reference's copy is never edited)
ADDED = (ROOT / "docs" / "reference" / "external-ids-added.md").read_text(encoding="utf-8")
PREFIXES = {
    "NCIT": "http://purl.obolibrary.org/obo/NCIT_",
    "CHEBI": "http://purl.obolibrary.org/obo/CHEBI_",
    "RXNORM": "https://mor.nlm.nih.gov/RxNav/search?searchBy=RXCUI&searchTerm=",
    "DRUGBANK": "https://go.drugbank.com/drugs/",
    "ATC": "http://www.whocc.no/atc_ddd_index/?code=",
    "HGNC": "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/",
    "NCBIGENE": "https://www.ncbi.nlm.nih.gov/gene/",
}


def verified_drug_ids() -> dict[str, dict[str, str]]:
    """{drug: {scheme: id}} for the ✓ cells of the drug tables of the reference and of the project's additions."""
    section = "\n".join(text.split("## 1. Drugs", 1)[1].split("## 2.", 1)[0] for text in (REFERENCE, ADDED))
    out: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or cells[0] in ("Drug", "---") or cells[0].startswith("-"):
            continue
        name = re.sub(r"\s*\(.*\)$", "", cells[0])
        for scheme, cell in zip(("NCIT", "CHEBI", "RXNORM", "DRUGBANK", "ATC"), cells[1:6], strict=True):
            match = re.match(r"^(CHEBI:)?([A-Z]*\d+[A-Z0-9]*)\s*✓", cell)
            if match:
                out.setdefault(name, {})[scheme] = match.group(2)
    return out


def links(graph, node, scheme):
    prefix = PREFIXES[scheme]
    return {str(o)[len(prefix) :] for o in graph.objects(node, SKOS.exactMatch) if str(o).startswith(prefix)}


def drug_named(graph, name):
    return next(graph.subjects(MBC.genericName, Literal(name)), None)


VERIFIED = verified_drug_ids()


def test_reference_table_was_read():
    assert len(VERIFIED) >= 15 and VERIFIED["letrozole"]["NCIT"] == "C1527"


@pytest.mark.parametrize("drug", sorted(VERIFIED))
def test_no_link_contradicts_a_verified_id(graph, drug):
    node = drug_named(graph, drug)
    assert node is not None, f"{drug} is not in the graph"
    for scheme, expected in VERIFIED[drug].items():
        assert links(graph, node, scheme) == {expected}, f"{drug} {scheme}"


def test_gnrh_agonists_link_only_verified_ids(graph):
    """The GnRH agonists' identifiers are all ✓ in docs/reference/external-ids-added.md (those that could not
    be checked were removed from the graph)."""
    for drug in set(graph.subjects(RDF.type, MBC.OvarianFunctionSuppressor)):
        name = str(graph.value(drug, MBC.genericName))
        expected = {(scheme, value) for scheme, value in VERIFIED.get(name, {}).items()}
        linked = {(scheme, value) for scheme in PREFIXES for value in links(graph, drug, scheme)}
        assert linked and linked <= expected, (name, linked - expected)


def test_every_drug_and_gene_is_linked(graph):
    for drug in set(graph.subjects(MBC.genericName, None)):
        assert set(graph.objects(drug, SKOS.exactMatch)) | set(graph.objects(drug, SKOS.broadMatch)), drug
    for gene in graph.subjects(RDF.type, MBC.Gene):
        assert links(graph, gene, "HGNC") and links(graph, gene, "NCBIGENE"), gene


def test_every_targeted_pathway_drug_has_an_exact_identifier(graph):
    """Each non-chemotherapy drug a regimen names has an exact match (chemotherapy formulations such as
    nab-paclitaxel may instead carry their ingredient's identifiers as broader matches)."""
    for drug in set(graph.objects(None, MBC.componentDrug)):
        if (drug, MBC.inDrugClass, MBC.CytotoxicChemotherapy) not in graph:
            assert set(graph.objects(drug, SKOS.exactMatch)), drug


@pytest.mark.parametrize(
    "symbol,hgnc,ncbi",
    [
        ("ESR1", "3467", "2099"),
        ("PIK3CA", "8975", "5290"),
        ("AKT1", "391", "207"),
        ("PTEN", "9588", "5728"),
        ("BRCA1", "1100", "672"),
        ("BRCA2", "1101", "675"),
    ],
)
def test_gene_ids(graph, symbol, hgnc, ncbi):
    gene = URIRef(f"https://w3id.org/mbc-kg/id/gene/{symbol}")
    assert links(graph, gene, "HGNC") == {hgnc} and links(graph, gene, "NCBIGENE") == {ncbi}
