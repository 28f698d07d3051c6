"""Property-based tests over generated patients (hypothesis)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDF, URIRef

from kg_service.core.namespaces import MBC

from .conftest import TODAY

GENES = ["ESR1", "PIK3CA", "AKT1", "PTEN", "BRCA1", "BRCA2", "TP53"]
ENDOCRINE = [["letrozole"], ["anastrozole"], ["exemestane"], ["tamoxifen"]]
LINES = [
    ["letrozole", "ribociclib"],
    ["anastrozole", "abemaciclib"],
    ["fulvestrant", "palbociclib"],
    ["fulvestrant", "ribociclib"],
    ["fulvestrant", "abemaciclib"],
    ["letrozole"],
    ["fulvestrant"],
    ["elacestrant"],
    ["imlunestrant"],
    ["alpelisib", "fulvestrant"],
    ["capivasertib", "fulvestrant"],
    ["everolimus", "exemestane"],
    ["olaparib"],
    ["talazoparib"],
    ["capecitabine"],
    ["paclitaxel"],
    ["eribulin"],
    ["trastuzumab deruxtecan"],
    ["sacituzumab govitecan"],
    ["datopotamab deruxtecan"],
    ["inavolisib", "palbociclib", "fulvestrant"],
    ["letrozole", "ribociclib", "goserelin"],
    ["paclitaxel", "goserelin"],
    ["fulvestrant", "capivasertib", "ribociclib"],
]
HER2 = [
    {"ihc": "0"},
    {"ihc": "0", "membrane_staining": True},
    {"ihc": "1+"},
    {"ihc": "2+", "ish": "negative"},
    {"ihc": "2+"},
    {"ihc": "2+", "ish": "not_done"},
]


def day(offset: int) -> str:
    return (TODAY - dt.timedelta(days=offset)).isoformat()


@st.composite
def patients(draw):
    n_lines = draw(st.integers(0, 4))
    diagnosis_ago = draw(st.integers(30 + 200 * n_lines, 3000))
    therapies = []
    if draw(st.booleans()):
        gap = draw(st.integers(-200, 1500))  # negative: still running at diagnosis
        end = None if gap < 0 else day(diagnosis_ago + gap)
        therapies.append(
            {
                "setting": "adjuvant",
                "drugs": draw(st.sampled_from(ENDOCRINE)),
                "start_date": day(diagnosis_ago + max(gap, 0) + 1500),
                "end_date": end,
            }
        )
    start = diagnosis_ago - 10
    for number in range(1, n_lines + 1):
        length = draw(st.integers(30, 190))
        last = number == n_lines
        ongoing = last and draw(st.booleans())
        therapies.append(
            {
                "setting": "metastatic",
                "line": number,
                "drugs": draw(st.sampled_from(LINES)),
                "start_date": day(start),
                "end_date": None if ongoing else day(start - length),
                "outcome": "ongoing"
                if ongoing
                else draw(st.sampled_from(["progression", "progression", "toxicity", "completed"])),
            }
        )
        start -= length + 5
    biomarkers = []
    for gene in draw(st.lists(st.sampled_from(GENES), unique=True, max_size=5)):
        biomarkers.append(
            {
                "gene": gene,
                "result": draw(st.sampled_from(["detected", "not_detected"])),
                "origin": draw(st.sampled_from(["somatic", "germline"])),
                "date": day(draw(st.integers(0, diagnosis_ago))),
            }
        )
    return {
        "id": "gen-1",
        "stage": draw(st.sampled_from(["metastatic", "locally_advanced_unresectable"])),
        "metastatic_diagnosis_date": day(diagnosis_ago),
        "er": draw(st.sampled_from(["positive", "low"])),
        "her2": draw(st.sampled_from(HER2)),
        "biomarkers": biomarkers,
        "therapies": therapies,
    }


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(patients())
def test_every_step_and_regimen_pair_exactly_once(reasoner, document):
    answer = reasoner.recommend(document, today=TODAY)
    pairs = [(o["step"]["id"], o["regimen"]["id"]) for o in answer["options"]]
    expected = [(str(o.step), str(o.regimen)) for o in reasoner.catalog.options]
    assert sorted(pairs) == sorted(expected) and len(set(pairs)) == len(pairs)
    assert {o["status"] for o in answer["options"]} <= {"recommended", "eligible", "undetermined", "not_eligible"}


@SETTINGS
@given(patients())
def test_undetermined_options_say_what_is_missing_and_closed_ones_why(reasoner, document):
    for option in reasoner.recommend(document, today=TODAY)["options"]:
        if option["status"] == "undetermined":
            assert option["missing"], option
        if option["status"] == "not_eligible":
            assert any(r.startswith(("not met", "closed:")) for r in option["reasons"]), option


def regimen_components(graph) -> dict[str, list[set[str]]]:
    """Each regimen's components, each as the generic names of the drugs that satisfy it (a named drug, or
    any drug of a named class), read from the graph."""
    rows = graph.query(
        """PREFIX mbc: <https://w3id.org/mbc-kg/ontology#>
           SELECT ?regimen ?component ?name WHERE {
             ?regimen a mbc:Regimen ; mbc:hasComponent ?component . ?drug mbc:genericName ?name .
             { ?component mbc:componentDrug ?drug }
             UNION { ?component mbc:drugClassIRI ?class . ?drug mbc:inDrugClass ?class } }"""
    )
    parts: dict = defaultdict(lambda: defaultdict(set))
    for row in rows:
        parts[str(row.regimen)][row.component].add(str(row.name))
    return {regimen: list(components.values()) for regimen, components in parts.items()}


@SETTINGS
@given(patients())
def test_an_option_the_patient_progressed_on_is_never_recommended(reasoner, graph, document):
    """A metastatic line that ended in progression closes every regimen all of whose drugs it contained (the
    contract's "What a line closes"): such an option is not_eligible, never recommended or eligible."""
    answer = reasoner.recommend(document, today=TODAY)
    components = regimen_components(graph)
    progressed = [
        set(t["drugs"]) for t in document["therapies"] if t["setting"] == "metastatic" and t["outcome"] == "progression"
    ]
    for option in answer["options"]:
        parts = components[option["regimen"]["id"]]
        if any(all(part & drugs for part in parts) for drugs in progressed):
            assert option["status"] == "not_eligible", option
            assert any(r.startswith("closed: metastatic line") for r in option["reasons"]), option


def pathway_walk(graph) -> tuple[dict, set, set, str]:
    """The pathway's parent-to-child links, its treatment steps, the steps given in sequence, and the entry
    step, read from the graph's own links (mbc:hasChild), not from the derived mbc:nextTreatmentStep."""
    children: dict = defaultdict(list)
    for parent, child in graph.subject_objects(MBC.hasChild):
        children[str(parent)].append(str(child))
    treatment = {str(s) for s in graph.subjects(RDF.type, MBC.TreatmentStep)}
    in_sequence = {str(s) for s, value in graph.subject_objects(MBC.givenInSequence) if value.toPython() is True}
    entry = str(next(graph.subjects(RDF.type, MBC.EntryStep)))
    return children, treatment, in_sequence, entry


def next_from(step: str, children: dict, treatment: set) -> set[str]:
    """The treatment steps reached from a step through decision steps only."""
    found, stack = set(), list(children.get(step, []))
    while stack:
        child = stack.pop()
        if child in treatment:
            found.add(child)
        else:
            stack.extend(children.get(child, []))
    return found


@SETTINGS
@given(patients())
def test_every_recommended_step_is_reachable_from_the_position(reasoner, graph, document):
    """The contract's "Where the patient stands": a recommended step is reached through decision steps from a
    step of the position (the steps of lines that ended in progression or are ongoing; the entry step when
    there is none) and is not in the position, unless the graph marks it as given in sequence."""
    answer = reasoner.recommend(document, today=TODAY)
    children, treatment, in_sequence, entry = pathway_walk(graph)
    by_label = {o.step_label: str(o.step) for o in reasoner.catalog.options}
    outcomes = {t["line"]: t["outcome"] for t in document["therapies"] if t["setting"] == "metastatic"}
    placed = answer["assessment"]["pathway_position"]
    assert all(p["in_position"] == (outcomes[p["line"]] in ("progression", "ongoing")) for p in placed), placed
    position = {by_label[p["step"]] for p in placed if p["in_position"]}
    if position:
        allowed = set().union(*(next_from(step, children, treatment) for step in position)) - position
        allowed |= position & in_sequence
    else:
        allowed = next_from(entry, children, treatment)
    for option in answer["options"]:
        if option["status"] == "recommended":
            assert option["step"]["id"] in allowed, (option, position)


def add_calendar_months(day: dt.date, months: int) -> dt.date:
    """The contract's arithmetic: keep the day of the month, clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


MONTH_ENDS = [
    dt.date(2024, 2, 29),
    dt.date(2023, 2, 28),
    dt.date(2024, 1, 31),
    dt.date(2023, 3, 31),
    dt.date(2020, 8, 31),
]


@SETTINGS
@given(st.one_of(st.sampled_from(MONTH_ENDS), st.dates(dt.date(2005, 1, 1), dt.date(2024, 12, 31))), st.integers(-3, 3))
def test_the_resistance_window_counts_forward_from_the_end_date(reasoner, graph, end, offset):
    """Resistant exactly when metastatic_diagnosis_date <= end_date + the window's calendar months, the day
    clamped to the month's last day (2024-02-29 + 12 months = 2025-02-28): checked a few days either side."""
    months = int(next(graph.objects(next(graph.objects(predicate=MBC.resistanceWindow)), MBC.months)))
    diagnosis = add_calendar_months(end, months) + dt.timedelta(days=offset)
    document = {
        "id": "window",
        "stage": "metastatic",
        "metastatic_diagnosis_date": diagnosis.isoformat(),
        "er": "positive",
        "her2": {"ihc": "1+"},
        "therapies": [
            {
                "setting": "adjuvant",
                "drugs": ["letrozole"],
                "start_date": (end - dt.timedelta(days=1800)).isoformat(),
                "end_date": end.isoformat(),
            }
        ],
    }
    answer = reasoner.recommend(document, today=diagnosis + dt.timedelta(days=30))
    expected = "resistant" if offset <= 0 else "sensitive"
    assert answer["assessment"]["endocrine_sensitivity"] == expected, (end, diagnosis)


def biomarker_genes(graph, criterion_id: str) -> tuple[list[str], bool]:
    rows = graph.query(
        """PREFIX mbc: <https://w3id.org/mbc-kg/ontology#>
           SELECT ?symbol ?germline WHERE {
             ?c mbc:requiresBiomarker ?b . ?b mbc:onGene/mbc:hgncSymbol ?symbol .
             BIND(EXISTS { ?b mbc:requiredOrigin mbc:Germline } AS ?germline) }""",
        initBindings={"c": URIRef(criterion_id)},
    )
    rows = list(rows)
    return [str(r.symbol) for r in rows], any(bool(r.germline) for r in rows)


@SETTINGS
@given(patients(), st.sampled_from(["detected", "not_detected"]))
def test_supplying_the_missing_test_settles_that_criterion(reasoner, graph, document, result):
    answer = reasoner.recommend(document, today=TODAY)
    for option in answer["options"]:
        unknown = [c for c in option["criteria"] if c["value"] == "unknown"]
        for criterion in unknown:
            genes, germline = biomarker_genes(graph, criterion["id"])
            if not genes:
                continue
            completed = dict(
                document,
                biomarkers=document["biomarkers"]
                + [
                    {
                        "gene": g,
                        "result": result,
                        "origin": "germline" if germline else "somatic",
                        "date": TODAY.isoformat(),
                    }
                    for g in genes
                ],
            )
            again = reasoner.recommend(completed, today=TODAY)
            same = next(
                o
                for o in again["options"]
                if (o["step"]["id"], o["regimen"]["id"]) == (option["step"]["id"], option["regimen"]["id"])
            )
            value = next(c["value"] for c in same["criteria"] if c["id"] == criterion["id"])
            assert value != "unknown", (criterion, same)
            return  # one settled criterion per example keeps the run short
