"""CDS order-select reads a drafted order as the derivation reads a metastatic line (review finding after
issue 15): the regimens the drafted drugs make up are those queries/eligibility/30-line-matching.rq derives
for one metastatic line of those drugs. The reference here is that query run by rdflib over the graph and the
triples the patient parser makes of such a line; the graph's own regimens are iterated, not listed."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from rdflib import Graph

from kg_service.cds import orders
from kg_service.core.namespaces import MBC
from kg_service.graph import queries as query_catalog
from kg_service.http import cds_hooks, state

from .conftest import TODAY

LINE_MATCHING = "eligibility/30-line-matching"


@pytest.fixture
def matcher(reasoner, monkeypatch):
    """What order-select calls (cds_hooks.get_regimens), built from the session's reasoner."""
    monkeypatch.setattr(state, "get_reasoner", lambda: reasoner)
    cds_hooks.get_regimens.cache_clear()
    try:
        yield cds_hooks.get_regimens()
    finally:
        cds_hooks.get_regimens.cache_clear()


def derived(reasoner, drugs: list[str]) -> set[str]:
    """The regimens 30-line-matching derives (rdflib, the reference engine) for a patient whose one therapy
    line is a metastatic line of `drugs`, as the patient document parser reads it."""
    prepared, violations = reasoner.parse({"therapies": [{"setting": "metastatic", "drugs": drugs}]}, today=TODAY)
    assert not violations, violations
    union = Graph()
    for triple in reasoner.graph:
        union.add(triple)
    for triple in prepared.graph:
        union.add(triple)
    result = union.query(query_catalog.load(LINE_MATCHING))
    return {str(o) for _, p, o in result.graph if p == MBC.matchesRegimen}


def own_drug_sets(graph: Graph) -> list[tuple[str, list[str]]]:
    """Each regimen of the graph with every drafted drug set made of its own components: the component's
    drug, or each drug of the component's class (generic names)."""

    def name(drug) -> str:
        return str(graph.value(drug, MBC.genericName))

    out = []
    for regimen in sorted(graph.subjects(MBC.hasComponent, None, unique=True)):
        if (regimen, None, MBC.Regimen) not in graph:
            continue
        slots = []
        for component in graph.objects(regimen, MBC.hasComponent):
            drugs = set(graph.objects(component, MBC.componentDrug))
            for drug_class in graph.objects(component, MBC.drugClassIRI):
                drugs |= set(graph.subjects(MBC.inDrugClass, drug_class))
            slots.append(sorted(name(d) for d in drugs))
        for choice in itertools.product(*slots):
            out.append((str(regimen), list(choice)))
    return out


NAMED_SETS = {
    "two aromatase inhibitors and a CDK4/6 inhibitor": ["letrozole", "anastrozole", "ribociclib"],
    "a GnRH agonist, an aromatase inhibitor and a CDK4/6 inhibitor": ["goserelin", "letrozole", "ribociclib"],
    "a GnRH agonist with fulvestrant and a CDK4/6 inhibitor": ["leuprolide", "fulvestrant", "abemaciclib"],
    "a single drug": ["fulvestrant"],
    "a single aromatase inhibitor": ["letrozole"],
    "a GnRH agonist alone": ["goserelin"],
    "no regimen (letrozole + capecitabine)": ["letrozole", "capecitabine"],
    "the same drug drafted twice": ["fulvestrant", "fulvestrant", "ribociclib"],
}


@pytest.mark.parametrize("label", sorted(NAMED_SETS))
def test_order_select_reads_a_drafted_order_as_line_matching_reads_a_line(label, matcher, reasoner):
    # fails before the fix for two AIs + ribociclib: the table wanted exactly one drafted drug per component
    drugs = NAMED_SETS[label]
    assert matcher.regimens_of(drugs) == derived(reasoner, drugs)


def test_the_defect_case_is_a_regimen_in_the_derivation(reasoner):
    """The reference is not vacuous where the defect was found: the derivation places two AIs + ribociclib."""
    assert derived(reasoner, NAMED_SETS["two aromatase inhibitors and a CDK4/6 inhibitor"])
    assert not derived(reasoner, NAMED_SETS["no regimen (letrozole + capecitabine)"])


def test_every_regimen_built_from_its_own_components_is_matched_as_the_derivation_matches_it(matcher, reasoner):
    cases = own_drug_sets(reasoner.graph)
    assert len({regimen for regimen, _ in cases}) >= 10  # the graph's regimens, not a handful
    for regimen, drugs in cases:
        found = matcher.regimens_of(drugs)
        assert regimen in found, (regimen, drugs, found)
        assert found == derived(reasoner, drugs), (regimen, drugs)


def test_concurrent_drafted_orders_get_their_own_regimens(matcher, reasoner):
    """Each call has its own scratch patient: concurrent calls never see each other's drafted drugs."""
    sets = [d for _, d in own_drug_sets(reasoner.graph)] + list(NAMED_SETS.values())
    alone = [matcher.regimens_of(drugs) for drugs in sets]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(matcher.regimens_of, sets * 4))
    assert together == alone * 4


def test_a_drug_name_the_graph_does_not_know_is_refused_not_read_as_no_regimen(matcher):
    with pytest.raises(ValueError, match="notadrug"):
        matcher.regimens_of(["letrozole", "notadrug"])


def test_no_drafted_drug_is_refused(matcher):
    with pytest.raises(ValueError, match="no drafted drug"):
        matcher.regimens_of([])


def test_a_line_matching_step_that_reads_other_steps_is_refused_at_start_up(reasoner, monkeypatch):
    """Run alone on a drafted line, a step that read other steps' triples would see none of them."""
    monkeypatch.setattr(orders.query_catalog, "uses", lambda name: ["20-earlier-step"])
    with pytest.raises(ValueError, match="reads other steps"):
        orders.RegimenMatcher(reasoner.store, reasoner.parser)


def test_a_graph_with_no_metastatic_setting_is_refused_at_start_up(reasoner, monkeypatch):
    """The drafted line's setting would be a bare literal that no line-matching pattern reads: no regimen."""
    monkeypatch.setattr(reasoner.parser.vocab, "member", lambda value_set, code: None)
    with pytest.raises(ValueError, match="metastatic"):
        orders.RegimenMatcher(reasoner.store, reasoner.parser)
