"""The label audit of issue 12 as properties of the graph: every option either rests on a label whose
indications its criteria cite, or says in a discrepancy note why not (docs/decisions/20261201-label-departures.md)."""

from __future__ import annotations

from rdflib import RDF, Literal

from kg_service.core.namespaces import MBC


def _criteria_of(graph, step, regimen) -> set:
    """The option's criteria and, one level down, their operands."""
    top = set(graph.objects(step, MBC.hasCriterion)) | set(graph.objects(regimen, MBC.hasCriterion))
    return top | {operand for criterion in top for operand in graph.objects(criterion, MBC.operand)}


def _options(graph):
    for step in graph.subjects(RDF.type, MBC.TreatmentStep):
        for regimen in graph.objects(step, MBC.hasRegimen):
            yield step, regimen


def test_every_option_has_an_approval_or_says_why_not(graph):
    missing = [
        (str(step), str(regimen))
        for step, regimen in _options(graph)
        if not set(graph.objects(regimen, MBC.hasApproval))
        and not set(graph.objects(regimen, MBC.discrepancyNote))
        and not set(graph.objects(step, MBC.discrepancyNote))
    ]
    assert not missing, missing


def test_every_approval_of_an_option_is_cited_by_one_of_its_criteria(graph):
    """Each label behind a regimen is a criterion branch of every option of that regimen (its step's or its
    own criteria, or their operands, cite the approval), unless the regimen or the step notes why not."""
    uncited = []
    for step, regimen in _options(graph):
        cited = {source for c in _criteria_of(graph, step, regimen) for source in graph.objects(c, MBC.criterionSource)}
        noted = set(graph.objects(regimen, MBC.discrepancyNote)) | set(graph.objects(step, MBC.discrepancyNote))
        for approval in graph.objects(regimen, MBC.hasApproval):
            if approval not in cited and not noted:
                uncited.append((str(step), str(regimen), str(approval)))
    assert not uncited, uncited


def test_a_treatment_step_without_criteria_says_why(graph):
    bare = [
        str(step)
        for step in graph.subjects(RDF.type, MBC.TreatmentStep)
        if not set(graph.objects(step, MBC.hasCriterion))
        and not any(set(graph.objects(r, MBC.hasCriterion)) for r in graph.objects(step, MBC.hasRegimen))
        and not set(graph.objects(step, MBC.discrepancyNote))
    ]
    assert not bare, bare


def test_ovarian_function_suppression_is_not_endocrine_therapy(graph):
    for drug in ("goserelin", "leuprolide", "triptorelin"):
        node = next(graph.subjects(MBC.genericName, Literal(drug)))
        classes = set(graph.objects(node, MBC.inDrugClass))
        assert MBC.OvarianFunctionSuppressor in classes and MBC.EndocrineTherapyDrug not in classes, drug
    assert set(graph.objects(MBC.OvarianFunctionSuppressor, MBC.discrepancyNote))
