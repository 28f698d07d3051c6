"""Errors as values: a field and a message, the same shape everywhere."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Violation:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class InvalidPatient(Exception):
    """The patient document is invalid or outside the pathway; every violation is listed."""

    def __init__(self, violations: list[Violation]):
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in violations))
        self.violations = violations


class BadRequest(Exception):
    """The body is not a patient document at all (not JSON, not RDF)."""
