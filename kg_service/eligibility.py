"""The eligibility derivation: the queries in queries/eligibility/, run in name order over one patient.

Every CONSTRUCT adds its triples to the patient's named graph; the SELECTs that follow read the result.
The code names no drug, gene, step or threshold: it runs whatever the graph and the queries say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph

from . import query_catalog
from .parallel import map_queries
from .remote_store import RemoteStore
from .store import OxigraphStore, PatientScope


@dataclass
class Derivation:
    """Rows of every SELECT query of the pipeline, by query name (e.g. '60-option-status')."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    derived_triples: int = 0


class EligibilityPipeline:
    """Loads the pipeline's query texts once; runs them per patient."""

    FOLDER = "eligibility"

    def __init__(self, store: OxigraphStore | RemoteStore, threads: int = 1):
        """threads: how many SELECT steps in a row may run at once (see parallel.py)."""
        self.store = store
        self.threads = threads
        self.steps: list[tuple[str, str, bool]] = []
        for name in query_catalog.names(self.FOLDER):
            text = query_catalog.load(name)
            is_construct = "\nCONSTRUCT" in text or text.lstrip().startswith("CONSTRUCT")
            self.steps.append((name.split("/")[-1], text, is_construct))
        # The steps in order as (is a CONSTRUCT, names, texts), consecutive SELECTs grouped: they read one state.
        self.stages: list[tuple[bool, list[str], list[str]]] = []
        for name, text, is_construct in self.steps:
            if self.stages and not is_construct and not self.stages[-1][0]:
                self.stages[-1][1].append(name)
                self.stages[-1][2].append(text)
            else:
                self.stages.append((is_construct, [name], [text]))

    def run(self, patient: Graph) -> Derivation:
        with self.store.patient_graph(patient) as scope:
            return self.run_in(scope)

    def run_in(self, scope: PatientScope) -> Derivation:
        """Run the pipeline over the patient(s) already loaded in `scope`."""
        result = Derivation()
        for is_construct, names, texts in self.stages:
            if is_construct:  # its triples are read by the steps after it
                result.derived_triples += scope.construct_into_patient(texts[0])
                continue
            for name, found in zip(names, map_queries(scope.select, texts, self.threads), strict=True):
                result.rows[name] = found
        return result
