"""The eligibility derivation: the queries in queries/eligibility/, in name order, over a patient (or a batch).

Every CONSTRUCT adds its triples to the patient's named graph; the steps after it read the result. Steps that
read none of each other's triples (by their "Uses:" headers) form a stage and may run at once; the answer is
the one the queries give when run one by one in name order, as any SPARQL engine would run them.
The code names no drug, gene, step or threshold: it runs whatever the graph and the queries say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import Graph

from kg_service.core.parallel import map_queries
from kg_service.graph import queries as query_catalog
from kg_service.store.oxigraph import OxigraphStore, PatientScope
from kg_service.store.remote import RemoteStore


@dataclass
class Derivation:
    """Rows of every SELECT query of the pipeline, by query name (e.g. '60-option-status')."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    derived_triples: int = 0


@dataclass(frozen=True)
class Step:
    """One query of the pipeline: its name (e.g. '40-biomarker-criteria'), its text, and whether it is a
    CONSTRUCT (its triples join the patient's graph) or a SELECT (its rows are the derivation's output)."""

    name: str
    text: str
    is_construct: bool


def schedule(steps: list[Step], uses: Callable[[str], list[str] | str]) -> list[list[Step]]:
    """The steps in stages: each step in the first stage after every step whose triples it reads (its
    "Uses:" header), so that a stage's steps read the same graph and may run at once. A step that uses all
    earlier steps (it reads a variable predicate) runs after every earlier CONSTRUCT, and no later CONSTRUCT
    runs before it: it might read whatever they write (beside it is fine, since a stage's triples join the
    graph after the stage). A SELECT writes nothing, so it waits only for the steps it uses. The result is
    the same as running the steps one by one in name order (tests/test_pipeline_stages.py checks the
    headers, and compares the two runs)."""
    stage_of: dict[str, int] = {}
    floor = 0  # the first stage a CONSTRUCT may take: not before an earlier step that reads anything
    for position, step in enumerate(steps):
        used = uses(step.name)
        if used == query_catalog.ALL_EARLIER:
            writers = [stage_of[s.name] for s in steps[:position] if s.is_construct]
            stage = max(writers, default=-1) + 1
        else:
            unknown = [name for name in used if name not in stage_of]
            if unknown:
                raise ValueError(f"{step.name} uses {', '.join(unknown)}: not an earlier step of the pipeline")
            stage = max([stage_of[name] + 1 for name in used], default=0)
        if step.is_construct:
            stage = max(stage, floor)
        if used == query_catalog.ALL_EARLIER:
            floor = max(floor, stage)
        stage_of[step.name] = stage
    stages: list[list[Step]] = [[] for _ in range(max(stage_of.values(), default=-1) + 1)]
    for step in steps:
        stages[stage_of[step.name]].append(step)
    return stages


class EligibilityPipeline:
    """Loads the pipeline's query texts once and schedules them in stages; runs them per patient."""

    FOLDER = "eligibility"

    def __init__(self, store: OxigraphStore | RemoteStore, threads: int = 1):
        """threads: how many steps of one stage may run at once (see parallel.py)."""
        self.store = store
        self.threads = threads
        self.steps: list[Step] = []
        for name in query_catalog.names(self.FOLDER):
            text = query_catalog.load(name)
            is_construct = "\nCONSTRUCT" in text or text.lstrip().startswith("CONSTRUCT")
            self.steps.append(Step(name.split("/")[-1], text, is_construct))
        self.stages = schedule(self.steps, lambda step: query_catalog.uses(f"{self.FOLDER}/{step}"))
        self.weights: list[list[float]] = [[1.0] * len(stage) for stage in self.stages]  # see measure()

    def run(self, patient: Graph) -> Derivation:
        with self.store.patient_graph(patient) as scope:
            return self.run_in(scope)

    def run_step(self, scope: PatientScope, step: Step):
        """A step's output: a CONSTRUCT's triples (not yet added), or a SELECT's rows."""
        return scope.construct(step.text) if step.is_construct else scope.select(step.text)

    def measure(self, empty: PatientScope) -> None:
        """Weigh each step by its time on an empty patient graph (the best of 3 runs), where planning is nearly
        all of a query's cost: the weights by which a stage's steps are dealt over threads (a query's length
        was a worse guess: a mean of 22.0 ms a patient on 2 threads against 20.7)."""

        def cost(step: Step) -> float:
            times = []
            for _ in range(3):
                started = time.perf_counter()
                self.run_step(empty, step)
                times.append(time.perf_counter() - started)
            return min(times)

        self.weights = [[cost(step) for step in stage] for stage in self.stages]

    def run_in(self, scope: PatientScope) -> Derivation:
        """Run the pipeline over the patient(s) already loaded in `scope`: each stage's steps at once, then
        the stage's CONSTRUCT triples into the patient's graph, for the stages after it to read."""
        result = Derivation()
        for stage, weights in zip(self.stages, self.weights, strict=True):
            outputs = map_queries(lambda step: self.run_step(scope, step), stage, self.threads, weights)
            for step, output in zip(stage, outputs, strict=True):
                if step.is_construct:
                    result.derived_triples += scope.add_derived(output)
                else:
                    result.rows[step.name] = output
        return result
