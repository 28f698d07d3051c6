"""The contract's answer: every option with its status, reasons, missing data and evidence."""

from __future__ import annotations

from kg_service.core.namespaces import MBC
from kg_service.graph.catalog import GraphCatalog, OptionCriterion
from kg_service.reasoning.pipeline import Derivation
from kg_service.store.oxigraph import intern_iri

TRUTH_CODE = {intern_iri(MBC[value]): value.lower() for value in ("True", "False", "Unknown")}
STATUS_ORDER = {"recommended": 0, "eligible": 1, "undetermined": 2, "not_eligible": 3}


UNEVALUATED = (intern_iri(MBC["Unknown"]), (), ())  # a criterion with no evaluation is unknown, as in 60-option-status


def criterion_evaluations(rows: list[dict]) -> dict:
    """The patient's evaluations (70-criterion-evaluations rows): criterion -> (truth value, reasons, missing
    data), the texts sorted (the same answer whatever order an engine returns rows in). Two truth values for
    one criterion are a broken derivation, refused rather than explained by whichever row came first."""
    found: dict = {}
    for row in rows:
        entry = found.get(row["criterion"])
        if entry is None:
            entry = found[row["criterion"]] = (row["truth"], set(), set())
        elif entry[0] is not row["truth"] and entry[0] != row["truth"]:
            raise ValueError(
                f"criterion {row['criterion']} was evaluated both {entry[0]} and {row['truth']} for one patient"
            )
        if row.get("reason") is not None:
            entry[1].add(str(row["reason"]))
        if row.get("missing") is not None:
            entry[2].add(str(row["missing"]))
    return {
        criterion: (truth, sorted(reasons), sorted(missing)) for criterion, (truth, reasons, missing) in found.items()
    }


def _criterion_lines(criteria: list[OptionCriterion], evaluations: dict) -> tuple[list[str], list[str], list[dict]]:
    """Reasons (failing first), missing data, and a structured list of the criteria behind an option."""
    by_criterion: dict = {}
    for criterion in criteria:
        key = (criterion.criterion, criterion.parent)
        if key in by_criterion:
            continue
        truth, reasons, missing = evaluations.get(criterion.criterion, UNEVALUATED)
        by_criterion[key] = {
            "criterion": criterion.criterion,
            "label": criterion.label,
            "truth": truth,
            "depth": criterion.depth,
            "parent": criterion.parent,
            "reasons": list(reasons),
            "missing": list(missing),
        }
    # a composite criterion is explained by the operands that decided it; the catalog lists an option's
    # criteria in (depth, label, IRI) order, so the entries are already in the answer's order and each
    # composite's operands in label order
    operands: dict = {}
    for operand in by_criterion.values():
        operands.setdefault(operand["parent"], []).append(operand)
    for entry in by_criterion.values():
        if entry["depth"] == 0 and not entry["reasons"]:
            for operand in operands.get(entry["criterion"], ()):
                if operand["truth"] is entry["truth"] or operand["truth"] == entry["truth"]:
                    entry["reasons"].extend(r for r in operand["reasons"] if r not in entry["reasons"])
    failing, unknown, holding, missing, structured = [], [], [], [], []
    for entry in by_criterion.values():
        truth = TRUTH_CODE.get(entry["truth"], "unknown")
        structured.append(
            {"id": str(entry["criterion"]), "label": entry["label"], "value": truth, "data": entry["reasons"]}
        )
        detail = "; ".join(entry["reasons"])
        if entry["depth"] > 0:
            continue  # operands are explained through their composite, and listed in `criteria`
        if truth == "false":
            failing.append(f"not met: {entry['label']}" + (f" ({detail})" if detail else ""))
        elif truth == "unknown":
            unknown.append(f"undetermined: {entry['label']}" + (f" ({detail})" if detail else ""))
        else:
            holding.extend(entry["reasons"] or [f"met: {entry['label']}"])
        if truth == "unknown":  # a settled criterion asks for nothing, whatever data it lacks
            for text in entry["missing"]:
                if text not in missing:
                    missing.append(text)
    # an unknown composite criterion asks for what its unknown operands lack; a settled one (an OR already true,
    # an AND already false) asks for nothing
    for entry in by_criterion.values():
        parent = by_criterion.get((entry["parent"], None)) if entry["depth"] > 0 else None
        if (
            parent is not None
            and TRUTH_CODE.get(parent["truth"], "unknown") == "unknown"
            and TRUTH_CODE.get(entry["truth"], "unknown") == "unknown"
        ):
            for text in entry["missing"]:
                if text not in missing:
                    missing.append(text)
    # a datum behind two criteria (HER2-low in both T-DXd branches, a line count) is stated once
    return list(dict.fromkeys(failing + unknown + holding)), missing, structured


def build_answer(patient_id: str, catalog: GraphCatalog, derivation: Derivation, warnings: list[str]) -> dict:
    status_rows = {(r["step"], r["regimen"]): r for r in derivation.rows["60-option-status"]}
    evaluations = criterion_evaluations(derivation.rows["70-criterion-evaluations"])
    position = sorted(
        derivation.rows["80-patient-position"],
        key=lambda p: (int(p["lineNumber"]), str(p["stepLabel"]), str(p.get("regimenLabel") or "")),
    )
    assessment_row = (derivation.rows["85-assessment"] or [{}])[0]
    options = []
    for option in catalog.options:
        key = (option.step, option.regimen)
        row = status_rows.get(key)
        status = str(row["status"]) if row else "undetermined"
        reasons, missing, structured = _criterion_lines(catalog.criteria.get(key, []), evaluations)
        if status != "undetermined":
            missing = []  # only an undetermined option's status rests on absent data
        if row and row.get("closedReason") is not None:  # the lines that closed the regimen (60-option-status)
            reasons[:0] = str(row["closedReason"]).split("; ")
        if row and row.get("currentReason") is not None:
            reasons.insert(0, str(row["currentReason"]))
        if row and row.get("placement") is not None and status in ("recommended", "eligible"):
            reasons.append(str(row["placement"]))  # where the pathway places the step, from the position
        options.append(
            {
                "status": status,
                "step": {"id": str(option.step), "label": option.step_label},
                "regimen": {"id": str(option.regimen), "label": option.regimen_label, "drugs": option.drugs},
                "reasons": reasons,
                "missing": missing,
                "evidence": catalog.evidence.get(option.regimen, []),
                "criteria": structured,
            }
        )
    options.sort(key=lambda o: STATUS_ORDER[o["status"]])
    lines = assessment_row.get("metastaticLines")
    warning_rows = derivation.rows.get("90-warnings", [])
    all_warnings = (
        list(warnings)
        + sorted(str(row["warning"]) for row in warning_rows if row.get("warning") is not None)
        + sorted(
            f"gene {row['symbol']} is not used by the pathway; its result was recorded but not used"
            for row in warning_rows
            if row.get("symbol") is not None
        )
    )
    return {
        "patient_id": patient_id,
        "knowledge_graph_version": catalog.version,
        "assessment": {
            "endocrine_sensitivity": str(assessment_row["endocrineSensitivity"])
            if assessment_row.get("endocrineSensitivity") is not None
            else None,
            "her2_category": str(assessment_row["her2Category"])
            if assessment_row.get("her2Category") is not None
            else None,
            "metastatic_lines": int(lines) if lines is not None else 0,
            "pathway_position": [
                {
                    "line": int(p["lineNumber"]),
                    "step": str(p["stepLabel"]),
                    "regimen": str(p["regimenLabel"]) if p.get("regimenLabel") is not None else None,
                    "in_position": p.get("inPosition") is not None and bool(p["inPosition"].toPython()),
                }
                for p in position
            ],
        },
        "options": options,
        "warnings": all_warnings,
    }
