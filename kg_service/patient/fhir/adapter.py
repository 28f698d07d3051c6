"""A FHIR R4 Bundle (mCODE STU1-STU4 or plain US Core) in, the contract's patient document out, with the FHIR
element behind every field, so that each violation of the document names the element
(`Bundle.entry[7].resource.valueCodeableConcept`).

Resources are classified by type and code, never by profile URL; the codes are the graph's
(`mapping.py`). What the adapter does not understand is ignored and named in the warnings; what contradicts
itself, or leaves the patient outside what the document can say, is a violation. Absent data stays absent:
the JSON layer and the shapes then say what is missing, as they do for a document.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rdflib import Graph

from kg_service.core.errors import Violation
from kg_service.core.namespaces import MBC
from kg_service.patient.fhir.lines import Course, rebuild_lines
from kg_service.patient.fhir.mapping import ROLE, FhirMapping, read_fhir_mapping

# FHIR R4 status values (the specification's required bindings, not clinical codes): records that say the
# thing did not happen, or was recorded in error, are not read.
NOT_DONE = {"entered-in-error", "not-taken", "not-done", "cancelled", "draft", "intended", "refuted"}
OBSERVATION_NOT_FINAL = {"registered", "preliminary", "cancelled", "entered-in-error", "unknown"}
MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
READ_TYPES = {"Patient", "Condition", "Observation", "Specimen", "Medication", *MEDICATION_TYPES}
# the document fields a record may leave out (then unknown, not refused), and the graph property each is:
# (the property from the patient to the node that holds it, or None for the patient itself; the property)
NOT_STATED = {
    "her2.ihc": (MBC.hasHER2Result, MBC.ihcScore),
    "metastatic_diagnosis_date": (None, MBC.metastaticDiagnosisDate),
}


# The JSON type of each element the adapter reads; a value of another type is dropped with a warning, so
# that nothing downstream meets a list where FHIR has a string.
ELEMENT_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "status": str, "gender": str, "code": dict, "subject": dict, "patient": dict, "specimen": dict,
    "component": list, "stage": list, "onsetDateTime": str, "onsetPeriod": dict, "recordedDate": str,
    "effectiveDateTime": str, "effectivePeriod": dict, "issued": str, "valueCodeableConcept": dict,
    "valueString": str, "valueQuantity": dict, "medicationCodeableConcept": dict, "medicationReference": dict,
    "statusReason": (list, dict), "dosageInstruction": list, "authoredOn": str, "verificationStatus": dict,
    "type": dict,
}  # fmt: skip


def _clean(resource: dict, path: str, warnings: list[str]) -> dict:
    """The resource with every read element of the wrong JSON type dropped (named in the warnings)."""
    out = {}
    for key, value in resource.items():
        wanted = ELEMENT_TYPES.get(key)
        if wanted is not None and not isinstance(value, wanted):
            warnings.append(f"{path}.{key} is not a FHIR {key} (a JSON {type(value).__name__}): ignored")
            continue
        out[key] = value
    return out


def _codings(concept: Any) -> list[dict]:
    """The Codings of a CodeableConcept that are objects."""
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [c for c in concept["coding"] if isinstance(c, dict)]


def _field(value: Any, key: str) -> Any:
    """value[key] when value is an object, else None."""
    return value.get(key) if isinstance(value, dict) else None


def is_fhir_bundle(body: Any) -> bool:
    """A parsed JSON body that is a FHIR resource (it has a resourceType); the adapter takes Bundles."""
    return isinstance(body, dict) and isinstance(body.get("resourceType"), str)


@dataclass
class FhirConversion:
    document: dict
    field_map: dict[str, str] = field(default_factory=dict)  # document field -> FHIR element
    hints: dict[str, str] = field(default_factory=dict)  # document field -> what the bundle held
    warnings: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    # a violation that leaves no patient to describe (not a Bundle, no Patient, no breast cancer): the
    # document's own violations (every field missing) are then noise, and left out
    fatal: bool = False
    # document fields the record does not state (FHIR's data-absent concept), which are unknown, not refused:
    # the patient graph says so (mbc:notStatedInRecord), and the shapes and the derivation read the absence
    not_stated: list[str] = field(default_factory=list)

    def not_stated_triples(self, triples: Any, patient: Any) -> set[tuple]:
        """The mbc:notStatedInRecord triples for the fields the record leaves out, on the nodes of the parsed
        patient graph (the patient, its HER2 result)."""
        out: set[tuple] = set()
        for name in self.not_stated:
            via, prop = NOT_STATED[name]
            nodes = [patient] if via is None else [o for s, p, o in triples if s == patient and p == via]
            out.update((node, MBC.notStatedInRecord, prop) for node in nodes)
        return out

    def element_of(self, document_field: str) -> str | None:
        """The FHIR element behind a document field, or behind the nearest enclosing field."""
        current = document_field
        while current:
            if current in self.field_map:
                return self.field_map[current]
            cut = max(current.rfind("."), current.rfind("["))
            current = current[:cut] if cut > 0 else ""
        return None

    def name_elements(self, violations: list[Violation]) -> list[Violation]:
        """The document's violations named by their FHIR element, the document field kept in the message."""
        out = []
        for violation in violations:
            if violation.field.startswith("Bundle"):
                out.append(violation)
                continue
            element = self.element_of(violation.field) or "Bundle"
            hint = self.hints.get(violation.field)
            extra = f"; {hint}" if hint else ""
            out.append(Violation(element, f"{violation.message} (patient document field {violation.field}{extra})"))
        return sorted(set(out), key=lambda v: (v.field, v.message))


def _date(value: Any) -> dt.date | None:
    """The date part of a FHIR date or dateTime (2025, 2025-03 and 2025-03-01T10:00:00Z alike: a partial
    date is read as its first day)."""
    if not isinstance(value, str):
        return None
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None


def _text(concept: Any) -> str | None:
    """A CodeableConcept's text, else the first display of its codings."""
    if not isinstance(concept, dict):
        return None
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"].strip()
    for coding in _codings(concept):
        if isinstance(coding.get("display"), str):
            return coding["display"].strip()
    return None


def _describe(concept: Any) -> str:
    if not isinstance(concept, dict):
        return repr(concept)
    codes = [f"{c.get('system')}|{c.get('code')}" for c in _codings(concept)]
    text = _text(concept)
    return " ".join(filter(None, [", ".join(codes), f"'{text}'" if text else None])) or "no coding or text"


@dataclass
class _Entry:
    index: int
    resource: dict
    path: str

    @property
    def name(self) -> str:
        return f"{self.resource.get('resourceType')}/{self.resource.get('id', f'entry{self.index}')}"


@dataclass
class _Result:
    value: str
    date: dt.date | None
    path: str


class FhirAdapter:
    """Prepared once from the graph (the code mapping and the drug names); `convert` per bundle."""

    def __init__(self, source: Graph | Any, drug_names: dict[str, str]):
        """source: the graph (rdflib) or the embedded store holding it (faster: OxigraphStore)."""
        self.mapping: FhirMapping = read_fhir_mapping(source, drug_names)
        # code -> the systems that define it, in the table's order: a Patient's gender is a bare code
        self.systems_of_code: dict[str, list[str]] = {}
        for system, code in self.mapping.by_code:
            self.systems_of_code.setdefault(code, []).append(system)

    # ------------------------------------------------------------------ bundle
    def _entries(self, bundle: dict, out: FhirConversion) -> tuple[list[_Entry], dict[str, _Entry]]:
        entries: list[_Entry] = []
        by_reference: dict[str, _Entry] = {}
        seen: dict[str, str] = {}
        ignored: Counter = Counter()
        raw = bundle.get("entry")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            out.violations.append(Violation("Bundle.entry", "must be a list of entries"))
            return [], {}
        for index, entry in enumerate(raw):
            path = f"Bundle.entry[{index}].resource"
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                out.warnings.append(f"Bundle.entry[{index}] has no resource: ignored")
                continue
            resource = entry["resource"]
            kind = resource.get("resourceType")
            if not isinstance(kind, str):
                out.warnings.append(f"{path} has no resourceType: ignored")
                continue
            if (entry.get("search") or {}).get("mode") == "outcome" or kind == "OperationOutcome":
                out.warnings.append(f"{path} is an OperationOutcome from the sender: ignored")
                continue
            if kind not in READ_TYPES:
                ignored[kind] += 1
                continue
            resource = _clean(resource, path, out.warnings)
            item = _Entry(index, resource, path)
            keys = [item.name] if "id" in resource else []
            if isinstance(entry.get("fullUrl"), str):
                keys.append(entry["fullUrl"])
            duplicate = next((seen[k] for k in keys if k in seen), None)
            if duplicate is not None:
                out.warnings.append(f"{path} repeats {duplicate} ({item.name}): the repeat is ignored")
                continue
            for key in keys:
                seen[key] = path
                by_reference[key] = item
            entries.append(item)
        if ignored:
            kinds = ", ".join(f"{k} ({n})" for k, n in sorted(ignored.items()))
            out.warnings.append(f"resources the adapter does not read were ignored: {kinds}")
        return entries, by_reference

    @staticmethod
    def _resolve(reference: Any, by_reference: dict[str, _Entry]) -> _Entry | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        target = reference["reference"]
        if target in by_reference:
            return by_reference[target]
        for key, entry in by_reference.items():  # an absolute fullUrl ending in Type/id
            if key.endswith("/" + target):
                return entry
        return None

    # ------------------------------------------------------------------ conversion
    def convert(self, bundle: Any) -> FhirConversion:
        """The patient document a Bundle describes, the FHIR element behind each field, warnings and the
        bundle's own violations (each naming its element)."""
        out = FhirConversion(document={})
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            kind = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
            out.fatal = True
            out.violations.append(
                Violation(
                    "Bundle.resourceType",
                    f"must be 'Bundle' (a collection, transaction, searchset or $everything Bundle holding the "
                    f"patient's resources); got {kind!r}",
                )
            )
            return out
        entries, by_reference = self._entries(bundle, out)
        by_type: dict[str, list[_Entry]] = {}
        for entry in entries:
            by_type.setdefault(entry.resource["resourceType"], []).append(entry)
        doc = out.document
        patient = self._patient(by_type.get("Patient", []), out)
        patient_refs = set()
        if patient is not None:
            patient_refs = {k for k, v in by_reference.items() if v is patient}

        def own(entry: _Entry) -> bool:
            subject = entry.resource.get("subject") or entry.resource.get("patient")
            if patient is None or not isinstance(subject, dict) or not isinstance(subject.get("reference"), str):
                return True
            target = subject["reference"]
            if target in patient_refs or any(k.endswith("/" + target) for k in patient_refs):
                return True
            out.warnings.append(f"{entry.path} is about {target}, not this bundle's patient: ignored")
            return False

        diagnosis = self._conditions([e for e in by_type.get("Condition", []) if own(e)], out)
        progressions = self._observations([e for e in by_type.get("Observation", []) if own(e)], by_reference, out)
        courses = self._medications(
            [e for kind in MEDICATION_TYPES for e in by_type.get(kind, []) if own(e)], by_reference, out
        )
        if diagnosis is None and "metastatic_diagnosis_date" in out.hints and doc.get("stage") != "early":
            if courses:  # without the date, early and metastatic therapy cannot be told apart: refused
                out.hints["metastatic_diagnosis_date"] += (
                    "; the bundle's medications cannot be placed in lines of therapy without it"
                )
            else:  # nothing rests on the date but endocrine sensitivity and the recurrence windows: unknown
                out.not_stated.append("metastatic_diagnosis_date")
                out.warnings.append(
                    f"{out.field_map['metastatic_diagnosis_date']} is absent: the metastatic diagnosis date is "
                    "unknown, and endocrine sensitivity and the criteria timed from it are undetermined"
                )
        self._therapies(courses, diagnosis, progressions, out)
        if patient is None and "id" not in doc:
            doc["id"] = str(bundle.get("id") or "fhir-patient")
        # the document in the contract's key order, for readers of --json output
        order = ["id", "sex", "stage", "metastatic_diagnosis_date", "er", "pr", "her2", "biomarkers", "therapies"]
        out.document = {k: doc[k] for k in order if k in doc} | {k: v for k, v in doc.items() if k not in order}
        return out

    def _patient(self, patients: list[_Entry], out: FhirConversion) -> _Entry | None:
        doc = out.document
        if not patients:
            out.fatal = True
            out.violations.append(
                Violation("Bundle.entry", "holds no Patient resource: the bundle must hold the patient")
            )
            return None
        if len(patients) > 1:
            out.violations.append(
                Violation(
                    patients[1].path,
                    f"a second Patient ({patients[0].name} and {patients[1].name}): send one patient per bundle",
                )
            )
        patient = patients[0]
        doc["id"] = patient.resource.get("id")
        out.field_map["id"] = f"{patient.path}.id"
        gender = patient.resource.get("gender")
        if gender is not None:
            role = self.mapping.roles.get(ROLE.AdministrativeGender)
            systems = self.systems_of_code.get(gender, []) if isinstance(gender, str) else []
            code = None
            for system in systems:
                code = self.mapping.member_code({"coding": [{"system": system, "code": gender}]}, MBC.Sex) or code
            if code:
                doc["sex"] = code
                out.field_map["sex"] = f"{patient.path}.gender"
            else:
                out.warnings.append(
                    f"{patient.path}.gender {gender!r} is not a sex the pathway reads: left out"
                    + (f" ({role.label})" if role else "")
                )
        return patient

    # ------------------------------------------------------------------ conditions
    def _conditions(self, conditions: list[_Entry], out: FhirConversion) -> dt.date | None:
        doc = out.document
        primary: list[_Entry] = []
        metastases: list[tuple[dt.date | None, _Entry]] = []
        staged: list[tuple[str, str]] = []
        unknown: list[_Entry] = []
        for entry in conditions:
            resource = entry.resource
            verification = resource.get("verificationStatus")
            statuses = {c.get("code") for c in _codings(verification) if isinstance(c.get("code"), str)}
            if statuses & NOT_DONE:
                out.warnings.append(f"{entry.path} is marked {', '.join(sorted(statuses & NOT_DONE))}: ignored")
                continue
            role = self.mapping.role_of(resource.get("code"))
            for index, stage in enumerate(resource.get("stage") or []):
                code = self.mapping.member_code(_field(stage, "summary"), MBC.DiseaseStage)
                if code:
                    staged.append((code, f"{entry.path}.stage[{index}].summary"))
            if role is None:
                unknown.append(entry)
            elif role.iri == ROLE.PrimaryBreastCancer:
                primary.append(entry)
            elif role.iri == ROLE.DistantMetastasis:
                onset = resource.get("onsetDateTime") or _field(resource.get("onsetPeriod"), "start")
                day = _date(onset)
                if day is None and _date(resource.get("recordedDate")):
                    day = _date(resource.get("recordedDate"))
                    out.warnings.append(
                        f"{entry.path} has no onset: its recordedDate ({day.isoformat()}) is read as the "
                        "metastatic diagnosis date"
                    )
                metastases.append((day, entry))
            elif role.iri == ROLE.RegionalNodalMetastasis:
                out.warnings.append(f"{entry.path}.code is {role.label}: {role.note or 'not distant metastasis'}")
        if unknown:
            out.warnings.append(
                "Conditions with codes the adapter does not map were ignored: "
                + "; ".join(f"{e.path}.code ({_describe(e.resource.get('code'))})" for e in unknown)
            )
        if not primary:
            out.fatal = True
            where = unknown[0].path + ".code" if unknown else "Bundle.entry"
            seen = "; ".join(f"{_describe(e.resource.get('code'))} at {e.path}.code" for e in unknown) or "none"
            out.violations.append(
                Violation(
                    where,
                    "no breast cancer Condition: the pathway covers breast cancer only, and the bundle's "
                    f"Conditions are not coded as breast cancer (Conditions seen: {seen})",
                )
            )
        dated = sorted((d, e) for d, e in metastases if d is not None)
        if dated:
            day, entry = dated[0]
            doc["stage"] = "metastatic" if "metastatic" in self.mapping.members_codes(MBC.DiseaseStage) else None
            doc["metastatic_diagnosis_date"] = day.isoformat()
            out.field_map["stage"] = f"{entry.path}.code"
            out.field_map["metastatic_diagnosis_date"] = f"{entry.path}.onset[x]"
            out.warnings.append(
                f"metastatic diagnosis date {day.isoformat()} read from {entry.name} (the earliest distant "
                "metastasis Condition)"
            )
        elif metastases or staged:
            entry = metastases[0][1] if metastases else None
            doc["stage"] = staged[0][0] if staged and not metastases else "metastatic"
            out.field_map["stage"] = f"{entry.path}.code" if entry else staged[0][1]
            out.field_map["metastatic_diagnosis_date"] = f"{entry.path}.onset[x]" if entry else staged[0][1]
            out.hints["metastatic_diagnosis_date"] = (
                "the metastasis Condition has no onset date: give onsetDateTime"
                if entry
                else "the stage says metastatic but no metastasis Condition gives the date"
            )
        elif primary:
            doc["stage"] = "early"
            out.field_map["stage"] = f"{primary[0].path}.code"
            out.hints["stage"] = "the bundle holds no distant metastasis Condition and no stage IV"
        return _date(doc.get("metastatic_diagnosis_date"))

    # ------------------------------------------------------------------ observations
    def _value(self, entry: _Entry, out: FhirConversion) -> tuple[str, Any] | None:
        values = [k for k in entry.resource if k.startswith("value") and k[5:6].isupper()]
        if len(values) > 1:
            out.warnings.append(
                f"{entry.path} carries {len(values)} value[x] ({', '.join(values)}), which FHIR forbids: ignored"
            )
            return None
        return (values[0], entry.resource[values[0]]) if values else None

    def _observations(self, observations: list[_Entry], by_reference: dict[str, _Entry], out: FhirConversion):
        doc = out.document
        receptors: dict[str, list[_Result]] = {}
        her2_scores: list[_Result] = []
        her2_unscored: list[tuple[str, str, str | None]] = []
        biomarkers: list[tuple[dict, str]] = []
        studied: list[tuple[str, str]] = []
        progressions: list[tuple[dt.date, str]] = []
        unknown: list[str] = []
        for entry in observations:
            resource = entry.resource
            if resource.get("status") in OBSERVATION_NOT_FINAL:
                out.warnings.append(f"{entry.path} has status {resource.get('status')!r}: ignored")
                continue
            role = self.mapping.role_of(resource.get("code"))
            if role is None:
                unknown.append(f"{entry.path}.code ({_describe(resource.get('code'))})")
                continue
            day = _date(resource.get("effectiveDateTime") or _field(resource.get("effectivePeriod"), "start"))
            day = day or _date(resource.get("issued"))
            if role.iri == ROLE.RegionStudied:
                for index, component in enumerate(resource.get("component") or []):
                    if self.mapping.role_of(_field(component, "code")) == self.mapping.roles.get(ROLE.GeneStudied):
                        gene = self._gene(_field(component, "valueCodeableConcept"))
                        if gene:
                            studied.append((gene, f"{entry.path}.component[{index}]"))
                continue
            if role.iri == ROLE.GeneticVariantAssessment:
                found = self._variant(entry, day, by_reference, out)
                if found:
                    biomarkers.append(found)
                continue
            value = self._value(entry, out)
            if role.iri == ROLE.CancerDiseaseStatus:
                if value and value[0] == "valueCodeableConcept":
                    code = self.mapping.member_code(value[1], role.value_set)
                    if code == "progression" and day:
                        progressions.append((day, entry.name))
                continue
            if value is None:
                out.warnings.append(f"{entry.path} ({role.label}) has no value: ignored")
                continue
            kind, raw = value
            element = f"{entry.path}.{kind}"
            if role.iri in (ROLE.HER2Immunohistochemistry, ROLE.HER2Interpretation):
                score = self._score(kind, raw, role.value_set)
                if score:
                    her2_scores.append(_Result(score, day, element))
                else:
                    category = (
                        self.mapping.member_code(raw, MBC.HER2Category) if kind == "valueCodeableConcept" else None
                    )
                    label = next(
                        (lab for c, lab in self.mapping.members.get(MBC.HER2Category, []) if c == category), None
                    )
                    said = label or (_describe(raw) if isinstance(raw, dict) else repr(raw))
                    her2_unscored.append((element, said, category))
                continue
            code = None
            if kind == "valueCodeableConcept":
                code = self.mapping.member_code(raw, role.value_set) or self.mapping.member_from_text(
                    _text(raw), role.value_set
                )
            elif kind == "valueString":
                code = self.mapping.member_from_text(raw, role.value_set)
            if code is None:
                out.warnings.append(
                    f"{element} ({role.label}) is not a value the adapter reads "
                    f"({_describe(raw) if isinstance(raw, dict) else repr(raw)}): ignored"
                )
                continue
            if role.field:
                receptors.setdefault(role.field, []).append(_Result(code, day, element))
        if unknown:
            out.warnings.append("Observations with codes the adapter does not map were ignored: " + "; ".join(unknown))
        for name, results in receptors.items():
            values = {r.value for r in results}
            if len(values) > 1:
                listed = ", ".join(f"{r.value!r} at {r.path}" for r in results)
                for result in results:
                    out.violations.append(
                        Violation(result.path, f"{name} results disagree ({listed}): send the result that holds")
                    )
                out.field_map[name] = results[0].path
                continue
            self._put(doc, name, results[0].value)
            out.field_map[name] = results[0].path
        scores = {r.value for r in her2_scores}
        if len(scores) > 1:
            listed = ", ".join(f"{r.value!r} at {r.path}" for r in her2_scores)
            for result in her2_scores:
                out.violations.append(
                    Violation(result.path, f"HER2 IHC scores disagree ({listed}): send the one that holds")
                )
            doc.setdefault("her2", {})
            out.field_map["her2.ihc"] = her2_scores[0].path
        elif scores:
            self._put(doc, "her2.ihc", her2_scores[0].value)
            out.field_map["her2.ihc"] = her2_scores[0].path
        elif her2_unscored and all(code in self.mapping.unscored_her2_codes for _, _, code in her2_unscored):
            # coded negative without a score: HER2-null, -ultralow or -low, the score unknown and asked for
            doc.setdefault("her2", {})
            out.field_map["her2.ihc"] = her2_unscored[0][0]
            out.not_stated.append("her2.ihc")
            for element, said, _ in her2_unscored:
                out.warnings.append(
                    f"{element} records HER2 as negative without an IHC score ({said}): the score is unknown, and the "
                    "options that depend on the HER2 category are undetermined until it is recorded"
                )
        elif her2_unscored:
            for element, said, _ in her2_unscored:
                out.violations.append(
                    Violation(
                        element,
                        f"records HER2 as {said} without an IHC score; the pathway needs the score "
                        "(0, 1+, 2+ or 3+, in valueString, valueCodeableConcept.text or valueQuantity)",
                    )
                )
            doc.setdefault("her2", {})
            out.field_map["her2.ihc"] = her2_unscored[0][0]
        else:
            out.hints["her2.ihc"] = "the bundle holds no HER2 Observation"
        if "her2" in doc and not isinstance(doc["her2"], dict):
            doc["her2"] = {}
        if biomarkers:
            doc["biomarkers"] = []
            for index, (marker, path) in enumerate(biomarkers):
                doc["biomarkers"].append(marker)
                out.field_map[f"biomarkers[{index}]"] = path
        reported = {m["gene"] for m, _ in biomarkers}
        for gene, path in studied:
            if gene not in reported:
                note = self.mapping.roles[ROLE.RegionStudied].note if ROLE.RegionStudied in self.mapping.roles else ""
                out.warnings.append(
                    f"{gene} was studied ({path}) but no variant Observation reports on it: read as not tested. "
                    f"{note}".strip()
                )
        return progressions

    def _score(self, kind: str, raw: Any, value_set) -> str | None:
        if kind == "valueQuantity" and isinstance(raw, dict) and isinstance(raw.get("value"), (int, float)):
            value = raw["value"]
            if float(value).is_integer():
                codes = self.mapping.members_codes(value_set)
                for candidate in (f"{int(value)}+", f"{int(value)}"):
                    if candidate in codes:
                        return candidate
            return None
        if kind == "valueInteger" and isinstance(raw, int):
            return self._score("valueQuantity", {"value": raw}, value_set)
        if kind == "valueString":
            return self.mapping.member_from_text(raw, value_set)
        if kind == "valueCodeableConcept":
            return self.mapping.member_code(raw, value_set) or self.mapping.member_from_text(
                _field(raw, "text"), value_set
            )
        return None

    @staticmethod
    def _put(doc: dict, dotted: str, value: Any) -> None:
        keys = dotted.split(".")
        target = doc
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value

    def _gene(self, concept: Any) -> str | None:
        for meaning in self.mapping.concept_meanings(concept):
            if meaning.gene:
                return meaning.gene
        for coding in _codings(concept):
            if isinstance(coding.get("display"), str) and coding["display"].strip():
                return coding["display"].strip()
        return _text(concept)

    def _variant(self, entry: _Entry, day, by_reference, out: FhirConversion) -> tuple[dict, str] | None:
        resource = entry.resource
        gene = protein = dna = origin = None
        for index, component in enumerate(resource.get("component") or []):
            if not isinstance(component, dict):
                continue
            role = self.mapping.role_of(component.get("code"))
            if role is None:
                continue
            concept = component.get("valueCodeableConcept")
            text = component.get("valueString")
            if isinstance(concept, dict):
                codes = [c.get("code") for c in _codings(concept)]
                text = next((c for c in codes if isinstance(c, str)), None) or concept.get("text") or text
            if role.iri == ROLE.GeneStudied:
                gene = self._gene(concept) if concept else text
            elif role.iri == ROLE.AminoAcidChange and isinstance(text, str):
                protein = self.mapping.protein_change(text)
            elif role.iri == ROLE.DnaChange and isinstance(text, str):
                dna = text.split(":", 1)[1] if ":" in text else text
            elif role.iri == ROLE.GenomicSourceClass:
                origin = self.mapping.member_code(concept, role.value_set)
                if origin is None:
                    out.warnings.append(
                        f"{entry.path}.component[{index}] genomic source class {_describe(concept)} is not read: "
                        "the contract's default (somatic) applies"
                    )
        if not gene:
            out.warnings.append(f"{entry.path} (genetic variant) names no gene studied: ignored")
            return None
        value = self._value(entry, out)
        role = self.mapping.roles[ROLE.GeneticVariantAssessment]
        result = None
        if value and value[0] == "valueCodeableConcept":
            result = self.mapping.member_code(value[1], role.value_set)
            if result is None:
                out.warnings.append(
                    f"{entry.path}.valueCodeableConcept ({_describe(value[1])}) for {gene} is not a result: ignored, "
                    f"{gene} stays untested"
                )
                return None
        elif value is None and (protein or dna):
            result = "detected"
            out.warnings.append(f"{entry.path} has no value but names a change ({protein or dna}): read as detected")
        if result is None:
            out.warnings.append(f"{entry.path} ({gene}) has no result the adapter reads: ignored")
            return None
        marker: dict = {"gene": gene, "result": result}
        if (protein or dna) and result == "detected":
            marker["variant"] = protein or dna
        if origin:
            marker["origin"] = origin
        else:
            out.warnings.append(f"{entry.path} ({gene}) gives no genomic source class: somatic, the contract's default")
        specimen_ref = resource.get("specimen")
        if specimen_ref is not None:
            specimen = self._resolve(specimen_ref, by_reference)
            if specimen is None and not isinstance(_field(specimen_ref, "reference"), str):
                out.warnings.append(f"{entry.path}.specimen names its specimen by identifier only: specimen unknown")
            elif specimen is None:
                out.warnings.append(
                    f"{entry.path}.specimen "
                    f"{specimen_ref.get('reference') if isinstance(specimen_ref, dict) else specimen_ref!r} "
                    "is not in the bundle: specimen unknown"
                )
            else:
                code = self.mapping.member_code(specimen.resource.get("type"), MBC.SpecimenType)
                if code:
                    marker["specimen"] = code
                else:
                    out.warnings.append(
                        f"{specimen.path}.type ({_describe(specimen.resource.get('type'))}) is not a specimen type "
                        "the adapter reads: specimen unknown"
                    )
        if day:
            marker["date"] = day.isoformat()
        return marker, entry.path

    # ------------------------------------------------------------------ medications
    def _medications(self, entries: list[_Entry], by_reference, out: FhirConversion) -> list[Course]:
        courses: list[Course] = []
        administrations: dict[str, Course] = {}
        known = self.mapping.generic_names
        for entry in entries:
            resource = entry.resource
            kind = resource["resourceType"]
            if resource.get("status") in NOT_DONE:
                out.warnings.append(f"{entry.path} ({entry.name}) has status {resource.get('status')!r}: ignored")
                continue
            concept = resource.get("medicationCodeableConcept")
            element = f"{entry.path}.medicationCodeableConcept"
            if concept is None and resource.get("medicationReference") is not None:
                medication = self._resolve(resource.get("medicationReference"), by_reference)
                if medication is None:
                    out.warnings.append(
                        f"{entry.path}.medicationReference is not in the bundle: medication unknown, ignored"
                    )
                    continue
                concept, element = medication.resource.get("code"), f"{medication.path}.code"
            drug = self._drug(concept, element, out)
            if drug is None:
                out.warnings.append(f"{element} names no medication: ignored")
                continue
            if drug not in known:
                # a Patient compartment holds every medication (statins, analgesics): one the graph does not
                # know is not read as cancer therapy, and the warning says so, in case it was one
                out.warnings.append(
                    f"{element} ({_describe(concept)}) is no drug the pathway knows: not read as cancer therapy "
                    "(if it was one, the lines of therapy rebuilt here miss it)"
                )
                continue
            start, end = self._period(resource)
            if start is None:
                out.warnings.append(
                    f"{entry.path} ({entry.name}, {drug}) has no start date: it cannot be placed in a line, ignored"
                )
                continue
            stopped_for = self._reason(resource)
            if kind == "MedicationAdministration" and resource.get("effectiveDateTime"):
                course = administrations.get(drug)
                if course is not None and (start - (course.end or course.start)).days <= 90:
                    course.end = max(course.end or course.start, start)
                    course.sources.append(entry.name)
                    course.paths.append(entry.path)
                    continue
                course = Course(drug, start, start, [entry.name], [entry.path], stopped_for)
                administrations[drug] = course
                courses.append(course)
                continue
            if end is None and resource.get("status") in ("completed", "stopped"):
                out.warnings.append(
                    f"{entry.path} ({drug}) is {resource.get('status')} but gives no end date: read as still running"
                )
            courses.append(Course(drug, start, end, [entry.name], [entry.path], stopped_for))
        return courses

    def drug_of(self, concept: Any) -> str | None:
        """The generic name of the drug a medicationCodeableConcept names (code first, then name), or None."""
        found = self._drug(concept, "medicationCodeableConcept", FhirConversion(document={}))
        return found if found in self.mapping.generic_names else None

    def _drug(self, concept: Any, element: str, out: FhirConversion) -> str | None:
        by_code = next((m.drug for m in self.mapping.concept_meanings(concept) if m.drug), None)
        text = _text(concept)
        by_name = self.mapping.drug_from_text(text)
        if not by_name and isinstance(concept, dict):
            for coding in _codings(concept):
                by_name = by_name or self.mapping.drug_from_text(coding.get("display"))
        if by_code and by_name and by_code != by_name:
            out.warnings.append(
                f"{element}: the code means {by_code} but the text says {text!r} ({by_name}): the code is read"
            )
        if by_code:
            return by_code
        if by_name:
            codes = _describe(concept)
            out.warnings.append(f"{element}: {codes} is not a code the adapter maps; read as {by_name} by its name")
            return by_name
        return text

    @staticmethod
    def _period(resource: dict) -> tuple[dt.date | None, dt.date | None]:
        period = resource.get("effectivePeriod")
        if resource["resourceType"] == "MedicationRequest":
            for dosage in resource.get("dosageInstruction") or []:
                bounds = _field(_field(_field(dosage, "timing"), "repeat"), "boundsPeriod")
                if isinstance(bounds, dict):
                    period = bounds
                    break
            if not isinstance(period, dict) and resource.get("authoredOn"):
                return _date(resource.get("authoredOn")), None
        if isinstance(period, dict):
            return _date(period.get("start")), _date(period.get("end"))
        day = _date(resource.get("effectiveDateTime"))
        return day, (day if resource["resourceType"] == "MedicationAdministration" else None)

    def _reason(self, resource: dict) -> str | None:
        reasons = resource.get("statusReason")
        reasons = reasons if isinstance(reasons, list) else [reasons] if reasons else []
        for reason in reasons:
            code = self.mapping.member_code(reason, MBC.TherapyOutcome) or self.mapping.member_from_text(
                _text(reason), MBC.TherapyOutcome
            )
            if code:
                return code
        return None

    def _therapies(self, courses: list[Course], diagnosis, progressions, out: FhirConversion) -> None:
        codes = self.mapping.members_codes(MBC.TherapyOutcome)
        outcomes = {c: c for c in codes}
        settings = self.mapping.members_codes(MBC.TherapySetting)
        therapies, notes = rebuild_lines(
            courses,
            diagnosis,
            progressions,
            self.mapping.line_window_days,
            early_setting="adjuvant" if "adjuvant" in settings else "",
            metastatic_setting="metastatic" if "metastatic" in settings else "",
            outcomes=outcomes,
        )
        out.warnings.extend(notes)
        if not therapies:
            return
        doc = out.document
        doc["therapies"] = []
        for index, therapy in enumerate(therapies):
            item: dict = {"setting": therapy.setting}
            if therapy.line is not None:
                item["line"] = therapy.line
            item["drugs"] = therapy.drugs
            item["start_date"] = therapy.start.isoformat()
            if therapy.end is not None:
                item["end_date"] = therapy.end.isoformat()
            if therapy.outcome is not None:
                item["outcome"] = therapy.outcome
            doc["therapies"].append(item)
            first = min(therapy.courses, key=lambda c: c.start)
            out.field_map[f"therapies[{index}]"] = first.paths[0]
            out.field_map[f"therapies[{index}].start_date"] = first.paths[0]
            out.field_map[f"therapies[{index}].drugs"] = next(
                (
                    c.paths[0] + ".medicationCodeableConcept"
                    for c in therapy.courses
                    if c.drug not in self.mapping.generic_names
                ),
                first.paths[0] + ".medicationCodeableConcept",
            )
