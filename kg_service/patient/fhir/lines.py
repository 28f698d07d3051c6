"""Lines of therapy rebuilt from dates (FHIR has no line number and no setting).

The rules (also in ontology/fhir-mapping.ttl, fhirrole:Medication, and docs/decisions/20261201-fhir-adapter.md):
1. A course that starts before the metastatic diagnosis date is early therapy, read as adjuvant (FHIR
   records no setting); courses started on the same day form one early therapy.
2. After it, courses are taken in order of start; a course that starts within `window_days` of the first
   start of the current line joins it, a later one starts the next line.
3. A line ends in progression when a progression is recorded while it runs or the next line starts, unless
   a statusReason of one of its courses says toxicity (then toxicity).
4. The last line is ongoing while one of its courses has no end; otherwise it is completed, and a warning
   asks for a disease-status Observation if the disease progressed.
Every inference is returned as a sentence for the answer's warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Course:
    """One medication over time, from one resource or several administrations of the same drug."""

    drug: str  # the generic name, or the text as written when no drug is known (the JSON layer refuses it)
    start: dt.date
    end: dt.date | None
    sources: list[str]  # "MedicationStatement/abc"
    paths: list[str]  # "Bundle.entry[3].resource"
    stopped_for: str | None = None  # an outcome code read in statusReason ("toxicity")


@dataclass
class Therapy:
    setting: str
    courses: list[Course]
    line: int | None = None
    outcome: str | None = None
    end: dt.date | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return min(c.start for c in self.courses)

    @property
    def drugs(self) -> list[str]:
        out: list[str] = []
        for course in self.courses:
            if course.drug not in out:
                out.append(course.drug)
        return out


def _sources(courses: list[Course]) -> str:
    names = [s for c in courses for s in c.sources]
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def _dates(courses: list[Course]) -> str:
    days = sorted({c.start.isoformat() for c in courses})
    return " and ".join([", ".join(days[:-1]), days[-1]]) if len(days) > 1 else days[0]


def rebuild_lines(
    courses: list[Course],
    diagnosis: dt.date | None,
    progressions: list[tuple[dt.date, str]],
    window_days: int,
    early_setting: str,
    metastatic_setting: str,
    outcomes: dict[str, str],
) -> tuple[list[Therapy], list[str]]:
    """Therapies in document order (early first, then lines 1, 2, ...) and the sentences saying how each was
    read. `outcomes` names the document's outcome codes: progression, ongoing, toxicity, completed."""
    notes: list[str] = []
    if diagnosis is None:
        if courses:
            notes.append(
                "medications were not placed in lines: the metastatic diagnosis date is missing, so early and "
                "metastatic therapy cannot be told apart"
            )
        return [], notes
    ordered = sorted(courses, key=lambda c: c.start)  # stable: bundle order within a day
    therapies: list[Therapy] = []
    early: dict[dt.date, list[Course]] = {}
    metastatic: list[Course] = []
    for course in ordered:
        (early.setdefault(course.start, []) if course.start < diagnosis else metastatic).append(course)
    for start, group in sorted(early.items()):
        therapy = Therapy(early_setting, group)
        ends = [c.end for c in group]
        therapy.end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        notes.append(
            f"{' + '.join(therapy.drugs)} ({_sources(group)}), started {start.isoformat()} before the metastatic "
            f"diagnosis ({diagnosis.isoformat()}), read as {early_setting} therapy (FHIR records no setting)"
        )
        therapies.append(therapy)
    lines: list[Therapy] = []
    for course in metastatic:
        if lines and (course.start - lines[-1].start).days <= window_days:
            lines[-1].courses.append(course)
        else:
            lines.append(Therapy(metastatic_setting, [course]))
    for number, line in enumerate(lines, start=1):
        line.line = number
        ends = [c.end for c in line.courses]
        line.end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        following = lines[number] if number < len(lines) else None
        stop = line.end or (following.start if following else None)
        progressed = [
            (day, source) for day, source in progressions if line.start <= day and (stop is None or day <= stop)
        ]
        toxic = [c for c in line.courses if c.stopped_for == outcomes["toxicity"]]
        text = f"line {number} rebuilt from {_sources(line.courses)}, started {_dates(line.courses)}"
        if toxic:
            line.outcome = outcomes["toxicity"]
            text += f"; ended for toxicity (statusReason of {_sources(toxic)})"
        elif progressed:
            line.outcome = outcomes["progression"]
            text += f"; ended in progression ({progressed[0][1]}, {progressed[0][0].isoformat()})"
        elif following is not None:
            line.outcome = outcomes["progression"]
            text += f"; read as ended in progression, since line {number + 1} started {following.start.isoformat()}"
        elif line.end is None:
            line.outcome = outcomes["ongoing"]
            text += "; ongoing (a medication has no end date)"
        else:
            line.outcome = outcomes["completed"]
            text += (
                f"; ended {line.end.isoformat()} with no recorded progression or reason: read as completed, "
                "not progression (record a disease-status Observation if the disease progressed)"
            )
        notes.append(text)
    return therapies + lines, notes
