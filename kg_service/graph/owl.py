"""OWL 2 DL reasoning with HermiT (through owlready2): consistency and unsatisfiable classes.

A build-time check, not a per-request step (HermiT takes about a second on the ontology).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph


@dataclass
class ReasonerReport:
    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable and self.error is None


def classify(graph: Graph) -> ReasonerReport:
    """Run HermiT over the graph; report inconsistency and unsatisfiable classes."""
    import owlready2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.nt"
        graph.serialize(path, format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            onto = world.get_ontology(path.as_uri()).load(format="ntriples")
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            return ReasonerReport(consistent=False, error=f"HermiT: the ontology is inconsistent ({exc})")
        except Exception as exc:  # Java missing, HermiT crash: report, never pass silently
            return ReasonerReport(consistent=False, error=f"HermiT could not run: {exc}")
        nothing = {"http://www.w3.org/2002/07/owl#Nothing"}
        unsat = sorted(c.iri for c in world.inconsistent_classes() if c.iri not in nothing)
        return ReasonerReport(consistent=True, unsatisfiable=unsat)
