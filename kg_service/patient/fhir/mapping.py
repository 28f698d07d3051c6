"""The FHIR code mapping, read once from the graph: which (system, code) means which role, value-set member,
drug or gene. Every value comes from the graph (queries/service/fhir-*.rq); this module names none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rdflib import Graph, Namespace, URIRef

from kg_service.graph.query_runner import run_oxigraph, run_rdflib

ROLE = Namespace("https://w3id.org/mbc-kg/id/fhir/role/")


@dataclass(frozen=True)
class Meaning:
    """What one coding means: a role of the adapter, a value-set member (with its document code), a drug or a
    gene."""

    subject: URIRef
    role: bool = False
    value_set: URIRef | None = None
    member_code: str | None = None
    drug: str | None = None
    gene: str | None = None


@dataclass(frozen=True)
class Role:
    iri: URIRef
    label: str
    field: str | None
    value_set: URIRef | None
    note: str | None


@dataclass
class FhirMapping:
    by_code: dict[tuple[str, str], list[Meaning]] = field(default_factory=dict)
    code_prefixes: dict[str, list[str]] = field(default_factory=dict)
    category_lengths: dict[str, int] = field(default_factory=dict)  # system -> length of a code's category
    roles: dict[URIRef, Role] = field(default_factory=dict)
    members: dict[URIRef, list[tuple[str, str]]] = field(default_factory=dict)  # value set -> (code, label)
    amino_acids: dict[str, str] = field(default_factory=dict)
    drug_names: dict[str, str] = field(default_factory=dict)  # any name, casefolded -> generic name
    line_window_days: int = 0
    # HER2 category codes a record may give without the IHC score (read as a score not stated, not refused)
    unscored_her2_codes: set[str] = field(default_factory=set)
    _amino_pattern: re.Pattern | None = None

    @cached_property
    def generic_names(self) -> frozenset[str]:
        """The generic names the drug names map to, built once (it was rebuilt for every bundle)."""
        return frozenset(self.drug_names.values())

    def members_codes(self, value_set: URIRef | None) -> set[str]:
        """The document codes of a value set's members."""
        return {code for code, _ in self.members.get(value_set, [])} if value_set is not None else set()

    def meanings(self, coding: Any) -> list[Meaning]:
        """The meanings of one Coding (dict with system and code); the code is read with and without the
        system's optional prefix (an HGNC id written with or without "HGNC:")."""
        if not isinstance(coding, dict):
            return []
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return []
        code = code.strip()
        found = list(self.by_code.get((system, code), []))
        for prefix in self.code_prefixes.get(system, []):
            if code.startswith(prefix):
                found += self.by_code.get((system, code[len(prefix) :]), [])
        length = self.category_lengths.get(system)
        if length and len(code) > length:
            found += self.by_code.get((system, code[:length]), [])
        return found

    def concept_meanings(self, concept: Any) -> list[Meaning]:
        """The meanings of every Coding of a CodeableConcept."""
        if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
            return []
        return [m for coding in concept["coding"] for m in self.meanings(coding)]

    def role_of(self, concept: Any) -> Role | None:
        for meaning in self.concept_meanings(concept):
            if meaning.role and meaning.subject in self.roles:
                return self.roles[meaning.subject]
        return None

    def member_code(self, concept: Any, value_set: URIRef | None) -> str | None:
        """The document code of the member of `value_set` a CodeableConcept is coded as, if any."""
        for meaning in self.concept_meanings(concept):
            if value_set is not None and meaning.value_set == value_set and meaning.member_code is not None:
                return meaning.member_code
        return None

    def member_from_text(self, text: Any, value_set: URIRef | None) -> str | None:
        """A member of `value_set` named in free text by its code or label ("IHC 2+", "2+", "negative")."""
        if not isinstance(text, str) or value_set is None:
            return None
        wanted = text.strip().casefold()
        tokens = set(re.split(r"[\s,;:()]+", wanted))
        for code, label in self.members.get(value_set, []):
            if wanted in (code.casefold(), label.casefold()):
                return code
        for code, label in self.members.get(value_set, []):
            if label.casefold() in wanted and len(label) > 3:
                return code
        matches = {code for code, _ in self.members.get(value_set, []) if code.casefold() in tokens}
        return matches.pop() if len(matches) == 1 else None

    def drug_from_text(self, text: Any) -> str | None:
        """A drug named in free text by any of its names, case-insensitive; a strength, form or salt after the
        name is dropped ("Capecitabine 500 MG Oral Tablet", "tamoxifen citrate")."""
        if not isinstance(text, str):
            return None
        words = text.strip().casefold().split()
        for end in range(len(words), 0, -1):
            generic = self.drug_names.get(" ".join(words[:end]))
            if generic:
                return generic
        return None

    def protein_change(self, text: str) -> str:
        """p.HGVS as patient documents write it: the reference sequence dropped, amino acids one-letter."""
        change = text.strip()
        if ":" in change:
            change = change.split(":", 1)[1]
        if self._amino_pattern is not None:
            change = self._amino_pattern.sub(lambda m: self.amino_acids[m.group(0)], change)
        return change


def _rows(source: Any, name: str) -> list[dict]:
    """The rows of a service query, as {variable: term}, from an rdflib Graph or the embedded Oxigraph store
    (the code table's query takes rdflib 15-20 s, Oxigraph ms), through the shared query runner."""
    return (run_rdflib(source, name) if isinstance(source, Graph) else run_oxigraph(source, name)).rows


def read_fhir_mapping(source: Any, drug_names: dict[str, str]) -> FhirMapping:
    """The mapping from the graph's FHIR files (an rdflib Graph, or the embedded store holding the graph),
    with the drug names the JSON layer reads (name -> generic)."""
    mapping = FhirMapping(drug_names={name.casefold(): generic for name, generic in drug_names.items()})
    for row in _rows(source, "service/fhir-codes"):
        is_role = row.get("isRole")
        meaning = Meaning(
            subject=row["subject"],
            role=is_role is not None and bool(is_role.toPython()),
            value_set=row.get("valueSet"),
            member_code=str(row["memberCode"]) if row.get("memberCode") is not None else None,
            drug=str(row["drugName"]) if row.get("drugName") is not None else None,
            gene=str(row["geneSymbol"]) if row.get("geneSymbol") is not None else None,
        )
        system, prefix = str(row["system"]), row.get("codePrefix")
        key = (system, str(row["code"]))
        if meaning not in mapping.by_code.setdefault(key, []):
            mapping.by_code[key].append(meaning)
        if row.get("categoryLength") is not None:
            mapping.category_lengths[system] = int(row["categoryLength"])
        if prefix is not None and str(prefix) not in mapping.code_prefixes.setdefault(system, []):
            mapping.code_prefixes[system].append(str(prefix))
    for row in _rows(source, "service/fhir-roles"):
        field_name, note = row.get("field"), row.get("note")
        mapping.roles[row["role"]] = Role(
            row["role"], str(row["label"]), str(field_name) if field_name else None, row.get("valueSet"),
            str(note) if note else None,
        )  # fmt: skip
    for row in _rows(source, "service/fhir-value-set-members"):
        label = row.get("label")
        mapping.members.setdefault(row["valueSet"], []).append(
            (str(row["code"]), str(label) if label else str(row["code"]))
        )
    for row in _rows(source, "service/fhir-amino-acids"):
        mapping.amino_acids[str(row["three"])] = str(row["one"])
    if mapping.amino_acids:
        mapping._amino_pattern = re.compile("|".join(sorted(map(re.escape, mapping.amino_acids), key=len)[::-1]))
    for row in _rows(source, "service/fhir-line-window"):
        mapping.line_window_days = int(row["days"])
    for row in _rows(source, "service/fhir-not-stated"):
        mapping.unscored_her2_codes.add(str(row["code"]))
    return mapping
