"""The derivation runs in stages of steps that read none of each other's triples. Which steps a query reads
is declared in its "Uses:" header; these tests check every declaration against what the query's algebra
reads and writes (parsed by rdflib), and check that the staged run gives what running the queries one by
one in name order gives, as any SPARQL engine would run them."""

from __future__ import annotations

from functools import cache, partial

import pytest
from pyparsing import ParseResults
from rdflib import RDF, URIRef
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql.algebra import (
    translatePath,
    translatePName,
    translatePrologue,
    translateQuery,
    traverse,
    triples,
)
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from kg_service.cohort.synthetic import CohortGenerator
from kg_service.graph import queries as query_catalog
from kg_service.reasoning.pipeline import Derivation, EligibilityPipeline, Step, schedule

from .conftest import ROOT, TODAY, load_json

ANY = "any"  # a variable predicate (or rdf:type with a variable class): any triple may match
STEPS = [name.split("/")[-1] for name in query_catalog.names("eligibility")]


def _predicates(path) -> set:
    if isinstance(path, URIRef):
        return {path}
    if isinstance(path, (SequencePath, AlternativePath)):
        return set().union(*(_predicates(part) for part in path.args))
    if isinstance(path, InvPath):
        return _predicates(path.arg)
    if isinstance(path, MulPath):  # p* and p? also match every node at length zero: any write may matter
        return _predicates(path.path) if path.mod == "+" else {ANY}
    return {ANY}  # a variable, or a negated property set


def _keys(triples) -> set[tuple]:
    """(predicate,) for each triple pattern, or (rdf:type, class) for a typing pattern with a given class."""
    keys = set()
    for _, path, obj in triples:
        for predicate in _predicates(path):
            if predicate == RDF.type and path == RDF.type:
                keys.add((RDF.type, obj if isinstance(obj, URIRef) else ANY))  # a variable or blank node: any class
            else:
                keys.add((predicate,))
    return keys


def _read(node, found: set) -> set:
    """The keys of every triple pattern under `node` of a parse tree, in EXISTS and NOT EXISTS bodies too (rdflib's
    algebra drops a FILTER nested in an EXISTS body), the CONSTRUCT template aside."""
    if isinstance(node, CompValue):
        if node.name == "TriplesBlock":
            found |= _keys(triples(node.triples))
        for key, value in node.items():
            if key != "template":  # what a CONSTRUCT writes, not what it reads
                _read(value, found)
    elif isinstance(node, (list, tuple, ParseResults)):
        for item in node:
            _read(item, found)
    return found


def _reads_of(text: str) -> set:
    """What a query reads, from its parse tree with prefixes resolved and paths translated."""
    parsed = parseQuery(text)
    tree = traverse(parsed[1], visitPost=partial(translatePName, prologue=translatePrologue(parsed[0], None)))
    return _read(traverse(tree, visitPost=translatePath), set())


@cache
def reads_and_writes(step: str) -> tuple[frozenset, frozenset]:
    text = query_catalog.load(f"eligibility/{step}")
    algebra = translateQuery(parseQuery(text)).algebra
    writes = _keys(algebra["template"]) if algebra.name == "ConstructQuery" else set()
    return frozenset(_reads_of(text)), frozenset(writes)


def _may_match(read: tuple, written: tuple) -> bool:
    if ANY in (read[0], written[0]):
        return True
    if read[0] != written[0]:
        return False
    return len(read) == 1 or len(written) == 1 or ANY in (read[1], written[1]) or read[1] == written[1]


def reads_from(step: str, other: str) -> bool:
    reads, _ = reads_and_writes(step)
    _, writes = reads_and_writes(other)
    return any(_may_match(read, written) for read in reads for written in writes)


def reads_anything(step: str) -> bool:
    return any(key[0] == ANY for key in reads_and_writes(step)[0])


@pytest.mark.parametrize("step", STEPS)
def test_every_step_declares_what_it_uses(step):
    assert "# Uses:" in query_catalog.load(f"eligibility/{step}"), f"{step} has no '# Uses:' line in its header"
    declared = query_catalog.uses(f"eligibility/{step}")
    assert declared == query_catalog.ALL_EARLIER or set(declared) <= set(STEPS[: STEPS.index(step)]), declared


@pytest.mark.parametrize("step", STEPS)
def test_the_declared_uses_are_the_earlier_steps_the_query_reads(step):
    earlier = STEPS[: STEPS.index(step)]
    declared = query_catalog.uses(f"eligibility/{step}")
    if reads_anything(step):
        assert declared == query_catalog.ALL_EARLIER, f"{step} reads a variable predicate: it must use all earlier"
    else:
        assert declared == [other for other in earlier if reads_from(step, other)]


@pytest.mark.parametrize("step", STEPS)
def test_no_step_reads_what_a_later_step_writes(step):
    if reads_anything(step):
        pytest.skip("it reads a variable predicate: it runs after every earlier CONSTRUCT, and no later one before it")
    later = STEPS[STEPS.index(step) + 1 :]
    assert [other for other in later if reads_from(step, other)] == []


def test_the_analysis_sees_a_dependency_where_there_is_one():
    # 35 places lines by the regimens 30 matched; 50 combines the criteria 40-45 evaluated
    assert reads_from("35-line-placement", "30-line-matching")
    assert reads_from("50-composite-criteria", "40-biomarker-criteria")
    assert not reads_from("43-prior-therapy-criteria", "30-line-matching")


PREFIX = "PREFIX mbc: <https://w3id.org/mbc-kg/ontology#> "


@pytest.mark.parametrize(
    "where",
    [
        "?p a mbc:Patient FILTER NOT EXISTS { ?p mbc:her2Category ?c }",
        "?p a mbc:Patient BIND(EXISTS { ?p mbc:her2Category ?c } AS ?x)",
        "?p a mbc:Patient FILTER(EXISTS { ?p a mbc:Patient FILTER EXISTS { ?p mbc:her2Category ?c } })",
        "?p a mbc:Patient MINUS { ?p mbc:her2Category ?c }",
        "?p a mbc:Patient OPTIONAL { SELECT ?p WHERE { ?p mbc:hasHER2Result/^mbc:her2Category ?x } }",
    ],
)
def test_the_analysis_sees_reads_inside_exists_minus_subqueries_and_paths(where):
    assert (URIRef("https://w3id.org/mbc-kg/ontology#her2Category"),) in _reads_of(
        f"{PREFIX}SELECT * WHERE {{ {where} }}"
    )


@pytest.mark.parametrize(
    "where",
    [
        "?p a mbc:Patient FILTER EXISTS { ?p ?any ?value }",  # a variable predicate inside EXISTS
        "?p a mbc:Patient ; mbc:hasTherapyLine/mbc:includesDrug* ?x",  # zero-length paths match every node
        "?p a mbc:Patient ; !mbc:hasTherapyLine ?x",  # a negated property set
    ],
)
def test_a_read_of_any_predicate_is_seen(where):
    assert any(key[0] == ANY for key in _reads_of(f"{PREFIX}SELECT * WHERE {{ {where} }}"))


@pytest.mark.parametrize(
    "header,declared",
    [
        ("# Uses: 10-a, 20-b.\n# Example result: 30-c", ["10-a", "20-b"]),
        ("# Uses: 10-a,\n#     20-b-c.\n# Example result: 30-c", ["10-a", "20-b-c"]),
        ("# Uses: no other step (it reads only the graph).", []),
        ("# Uses: all earlier steps (it reads any attribute).", query_catalog.ALL_EARLIER),
        ("# Parameters: none.", query_catalog.ALL_EARLIER),  # no declaration: the safe reading
    ],
)
def test_a_uses_header_is_read(header, declared):
    assert query_catalog.uses_in(header + "\nSELECT * WHERE { ?s ?p ?o }") == declared


def test_a_uses_list_cut_off_after_a_comma_is_refused():
    with pytest.raises(ValueError, match="ends with a comma"):
        query_catalog.uses_in("# Uses: 10-a,\n#20-b.\nSELECT * WHERE { ?s ?p ?o }")


def _steps(*names: str, selects: tuple[str, ...] = ()) -> list[Step]:
    return [Step(name, "", name not in selects) for name in names]


def _names(stages: list[list[Step]]) -> list[list[str]]:
    return [[step.name for step in stage] for stage in stages]


def test_a_step_runs_in_the_stage_after_the_steps_it_uses():
    uses = {"10-a": [], "20-b": [], "30-c": ["10-a"], "40-d": ["30-c"], "50-e": []}
    stages = schedule(_steps(*uses), uses.__getitem__)
    assert _names(stages) == [["10-a", "20-b", "50-e"], ["30-c"], ["40-d"]]


def test_a_step_that_reads_anything_runs_after_every_earlier_construct_and_no_later_one_runs_before_it():
    uses = {"10-a": [], "15-b": ["10-a"], "20-c": query_catalog.ALL_EARLIER, "30-d": [], "40-e": ["10-a"]}
    stages = schedule(_steps(*uses), uses.__getitem__)
    # 30-d and 40-e run beside 20-c, not before it: their triples join the graph after the stage, as in name order
    assert _names(stages) == [["10-a"], ["15-b"], ["20-c", "30-d", "40-e"]]


def test_a_select_writes_nothing_so_it_waits_only_for_what_it_uses():
    uses = {"10-a": [], "20-b": query_catalog.ALL_EARLIER, "30-c": ["20-b"], "80-s": ["10-a"], "90-t": []}
    stages = schedule(_steps(*uses, selects=("80-s", "90-t")), uses.__getitem__)
    assert _names(stages) == [["10-a", "90-t"], ["20-b", "80-s"], ["30-c"]]


def test_a_select_before_a_step_that_reads_anything_does_not_hold_it_back():
    uses = {"10-a": [], "20-s": ["10-a"], "30-b": query_catalog.ALL_EARLIER, "40-t": query_catalog.ALL_EARLIER}
    stages = schedule(_steps(*uses, selects=("20-s", "40-t")), uses.__getitem__)
    assert _names(stages) == [["10-a"], ["20-s", "30-b"], ["40-t"]]


def test_a_use_of_a_later_or_unknown_step_is_refused_by_name():
    uses = {"10-a": ["20-b"], "20-b": []}
    with pytest.raises(ValueError, match="10-a uses 20-b"):
        schedule(_steps(*uses), uses.__getitem__)


def test_no_stage_holds_a_step_and_one_it_uses(reasoner):
    stage_of = {step.name: n for n, stage in enumerate(reasoner.pipeline.stages) for step in stage}
    assert sorted(stage_of) == STEPS
    writes = {step.name for step in reasoner.pipeline.steps if step.is_construct}
    for step in STEPS:
        declared = query_catalog.uses(f"eligibility/{step}")
        if declared == query_catalog.ALL_EARLIER:
            before, after = STEPS[: STEPS.index(step)], STEPS[STEPS.index(step) + 1 :]
            assert all(stage_of[other] < stage_of[step] for other in before if other in writes)
            assert all(stage_of[other] >= stage_of[step] for other in after if other in writes)
        else:
            assert all(stage_of[other] < stage_of[step] for other in declared)
    assert any(len(stage) > 2 for stage in reasoner.pipeline.stages)  # the point of it: steps run at once


def _one_by_one(pipeline: EligibilityPipeline, scope) -> Derivation:
    """The queries in name order, each CONSTRUCT's triples added before the next query runs."""
    result = Derivation()
    for step in pipeline.steps:
        if step.is_construct:
            result.derived_triples += scope.add_derived(scope.construct(step.text))
        else:
            result.rows[step.name] = scope.select(step.text)
    return result


def _canonical(derivation: Derivation) -> tuple:
    rows = {
        name: sorted(sorted((k, str(v)) for k, v in row.items()) for row in found)
        for name, found in derivation.rows.items()
    }
    return derivation.derived_triples, rows


@pytest.mark.parametrize("threads", [1, 2])
def test_the_staged_run_gives_what_the_queries_give_one_by_one_in_name_order(reasoner, threads):
    pipeline = EligibilityPipeline(reasoner.backend, threads=threads)
    documents = [load_json(path)["patient"] for path in sorted((ROOT / "tests" / "vignettes").glob("*.json"))]
    documents += list(CohortGenerator(reasoner.graph, TODAY).cohort(40, seed=7))
    for document in documents:
        prepared, _ = reasoner.parse(document, today=TODAY)
        with reasoner.backend.patient_graph(prepared.graph) as scope:
            staged = pipeline.run_in(scope)
        with reasoner.backend.patient_graph(prepared.graph) as scope:
            serial = _one_by_one(pipeline, scope)
        assert _canonical(staged) == _canonical(serial), document.get("id")
