"""Which regimens a drafted order is (CDS order-select): the derivation's own line matching decides it.

The drafted drugs become one metastatic therapy line of a scratch patient, made by the patient document
parser as it makes any patient's line (`{"setting": "metastatic", "drugs": [...]}`, the contract's form; the
names resolve to the graph's drugs through its vocabulary, queries/service/drug-names.rq). The derivation's
step queries/eligibility/30-line-matching.rq runs on that patient in a scratch store of the embedded store's
pool, and the regimens are the objects of the `mbc:matchesRegimen` triples it constructs: every component
given (a named drug, or any drug of a named class), every drafted drug part of a component, drugs of classes
marked `mbc:ignoredInRegimenMatching` aside. One rule, one definition: a drafted order matches the regimens
a patient's line of the same drugs matches. Each call takes its own scratch store, so concurrent calls never
see each other's drugs. What this module cannot read (a name the graph does not know, no drug at all, a step
that reads other steps' triples) is refused with a ValueError, never answered as "no regimen"."""

from __future__ import annotations

import pyoxigraph as ox

from kg_service.core.namespaces import MBC
from kg_service.graph import queries as query_catalog
from kg_service.graph.vocabulary import VALUE_SETS
from kg_service.patient.json_document import PatientParser
from kg_service.store.oxigraph import OxigraphStore

LINE_MATCHING = "eligibility/30-line-matching"
METASTATIC = "metastatic"  # the contract's code for a line given for metastatic disease (therapies[].setting)
_MATCHES = ox.NamedNode(str(MBC.matchesRegimen))


class RegimenMatcher:
    """Runs the derivation's line matching on a drafted order; built once per reasoner (at start-up)."""

    def __init__(self, store: OxigraphStore, parser: PatientParser):
        """store: the embedded store (its scratch pool holds the drafted line); parser: the reasoner's patient
        document parser. Refuses (ValueError) a line-matching step that reads other steps' triples, which it
        could not run alone, and a vocabulary with no member for the metastatic setting."""
        used = query_catalog.uses(LINE_MATCHING)
        if used != []:
            raise ValueError(f"{LINE_MATCHING} reads other steps' triples ({used}): it cannot run alone on an order")
        if parser.vocab.member(VALUE_SETS["setting"], METASTATIC) is None:
            raise ValueError(f"the graph's therapy settings have no member for the code {METASTATIC!r}")
        self.text = query_catalog.load(LINE_MATCHING)
        self.store = store
        self.parser = parser

    def regimens_of(self, drugs: list[str]) -> set[str]:
        """The regimens (IRIs) that a metastatic line of the drafted drugs (names the graph knows) matches."""
        if not drugs:
            raise ValueError("no drafted drug: an order of no drug is no line to match")
        unknown = sorted({d for d in drugs if not isinstance(d, str) or self.parser.vocab.drug(d) is None}, key=str)
        if unknown:
            raise ValueError(f"drafted drugs the graph does not know: {', '.join(map(str, unknown))}")
        parsed = self.parser.parse({"therapies": [{"setting": METASTATIC, "drugs": list(drugs)}]})
        if parsed.violations:
            raise ValueError(f"the drafted line is not a patient line: {[v.as_dict() for v in parsed.violations]}")
        with self.store.patient_graph(parsed.graph) as scope:
            constructed = scope.construct(self.text)
        triples = ox.parse(constructed, format=ox.RdfFormat.N_TRIPLES)
        return {t.object.value for t in triples if t.predicate == _MATCHES}
