"""Size limits on a patient: far above what any real patient reaches, so that the cost of a request is
bounded by them and not by what a client sends. Past a limit the patient is refused (422, naming the field)
before any other work on it.

These are operational bounds, not clinical facts: a patient with 50 lines of therapy or 100 biomarker results
would already be extraordinary (the vignettes have at most 6 lines and 7 results)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    therapies: int = 50  # therapy lines, adjuvant and metastatic together
    biomarkers: int = 100  # biomarker results
    drugs: int = 10  # drugs in one therapy line
    string_length: int = 200  # characters in any text value or field name
    fields: int = 50  # fields of any one object (the contract has at most 10)
    list_items: int = 50  # items of any other list
    rdf_triples: int = 5_000  # triples of a patient sent as RDF

    def list_limit(self, shape: tuple) -> int:
        """The limit for the list at a document path (indices written "*")."""
        return {("therapies",): self.therapies, ("biomarkers",): self.biomarkers}.get(
            shape, self.drugs if shape == ("therapies", "*", "drugs") else self.list_items
        )


LIMITS = Limits()
