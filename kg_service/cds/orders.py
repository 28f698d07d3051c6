"""Which regimens a drafted order is: each component of a regimen filled by one drafted drug (the drug, or a
drug of the component's class), every drafted drug used, GnRH agonists aside, as the derivation's line
matching reads a line. The table comes from the graph (queries/service/regimen-components.rq)."""

from __future__ import annotations

from itertools import permutations

from rdflib import Graph

from kg_service.graph.query_runner import run_oxigraph, run_rdflib
from kg_service.store.oxigraph import OxigraphStore

QUERY = "service/regimen-components"


class RegimenTable:
    def __init__(self, source: OxigraphStore | Graph):
        """source: the embedded store holding the graph (the service's way: about 1 ms), or an rdflib Graph
        (the reference: some 25 ms); both give the same table."""
        self.components: dict[str, dict[str, set[str]]] = {}  # regimen IRI -> component -> drug names
        self.ignored: set[str] = set()
        rows = run_rdflib(source, QUERY) if isinstance(source, Graph) else run_oxigraph(source, QUERY)
        for row in rows.rows:
            regimen, component, name, ignored = row["regimen"], row["component"], row["name"], row["ignored"]
            if ignored.toPython():
                self.ignored.add(str(name))
            else:
                self.components.setdefault(str(regimen), {}).setdefault(str(component), set()).add(str(name))

    def regimens_of(self, drugs: list[str]) -> set[str]:
        """The regimens (IRIs) the drafted drugs make up."""
        drafted = sorted(set(drugs) - self.ignored)
        found = set()
        for regimen, components in self.components.items():
            slots = list(components.values())
            if len(slots) != len(drafted):
                continue
            if any(all(d in slot for d, slot in zip(order, slots, strict=True)) for order in permutations(drafted)):
                found.add(regimen)
        return found
