"""The eligibility derivation: the queries in queries/eligibility/, run in name order over one patient.

Every CONSTRUCT adds its triples to the patient's named graph; the SELECTs that follow read the result.
The code names no drug, gene, step or threshold: it runs whatever the graph and the queries say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph

from . import query_catalog
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

    def __init__(self, store: OxigraphStore | RemoteStore):
        self.store = store
        self.steps: list[tuple[str, str, bool]] = []
        for name in query_catalog.names(self.FOLDER):
            text = query_catalog.load(name)
            is_construct = "\nCONSTRUCT" in text or text.lstrip().startswith("CONSTRUCT")
            self.steps.append((name.split("/")[-1], text, is_construct))

    def run(self, patient: Graph) -> Derivation:
        with self.store.patient_graph(patient) as scope:
            return self.run_in(scope)

    def run_in(self, scope: PatientScope) -> Derivation:
        """Run the pipeline over the patient(s) already loaded in `scope`."""
        result = Derivation()
        for short_name, text, is_construct in self.steps:
            if is_construct:
                result.derived_triples += scope.construct_into_patient(text)
            else:
                result.rows[short_name] = scope.select(text)
        return result
