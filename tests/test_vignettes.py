"""Clinical vignettes: every file in tests/vignettes/ is a test case (no test code per vignette).

Each vignette states a patient, the expected status of every step it touches (a step label alone means
every regimen of that step; "step | regimen" names one), and where the expectation comes from (the
pathway's note, an FDA label, a trial). Expectations were written from the pathway and the labels, not
copied from the program's output. Optional keys: expect_missing / expect_not_in_missing (fragments that must,
or must not, be in an option's missing data), expect_no_missing (options that must list none), expect_reasons,
expect_reasons_absent (fragments no reason may hold), expect_reasons_distinct (options that state each
reason once), expect_warnings / expect_warnings_absent (fragments the answer's warnings must, or must not,
hold), expect_evidence_nct, expect_assessment, and today (the reference date).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from .conftest import TESTS, load_json

VIGNETTES = sorted((TESTS / "vignettes").glob("*.json"))


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_vignette(reasoner, path: Path):
    case = load_json(path)
    today = dt.date.fromisoformat(case.get("today", "2026-11-25"))
    answer = reasoner.recommend(case["patient"], today=today)
    by_option = {(o["step"]["label"], o["regimen"]["label"]): o for o in answer["options"]}
    assert case["expect"], "a vignette must assert at least one status"
    for key, expected in case["expect"].items():
        if " | " in key:
            step, regimen = key.split(" | ", 1)
            options = [by_option[(step, regimen)]]
        else:
            options = [o for (s, _), o in by_option.items() if s == key]
        assert options, f"{path.name}: no option matches {key!r}"
        for option in options:
            assert option["status"] == expected, (
                f"{path.name}: {option['step']['label']} | {option['regimen']['label']}: "
                f"expected {expected}, got {option['status']}; "
                f"reasons: {option['reasons']}; missing: {option['missing']}"
            )
    for key, fragments in case.get("expect_missing", {}).items():
        step, regimen = key.split(" | ", 1)
        missing = " ".join(by_option[(step, regimen)]["missing"])
        for fragment in fragments:
            assert fragment.lower() in missing.lower(), f"{path.name}: {key}: {fragment!r} not in missing {missing!r}"
    for key, fragments in case.get("expect_not_in_missing", {}).items():
        step, regimen = key.split(" | ", 1)
        missing = " ".join(by_option[(step, regimen)]["missing"])
        for fragment in fragments:
            assert fragment.lower() not in missing.lower(), f"{path.name}: {key}: {fragment!r} in missing {missing!r}"
    for key in case.get("expect_no_missing", []):
        step, regimen = key.split(" | ", 1)
        assert by_option[(step, regimen)]["missing"] == [], f"{path.name}: {key}: {by_option[(step, regimen)]}"
    for key, fragments in case.get("expect_reasons", {}).items():
        step, regimen = key.split(" | ", 1)
        reasons = " ".join(by_option[(step, regimen)]["reasons"])
        for fragment in fragments:
            assert fragment.lower() in reasons.lower(), f"{path.name}: {key}: {fragment!r} not in reasons {reasons!r}"
    for key, ncts in case.get("expect_evidence_nct", {}).items():
        step, regimen = key.split(" | ", 1)
        cited = {e.get("nct") for e in by_option[(step, regimen)]["evidence"]}
        assert set(ncts) <= cited, f"{path.name}: {key}: evidence lacks {set(ncts) - cited}"
    for key, fragments in case.get("expect_reasons_absent", {}).items():
        step, regimen = key.split(" | ", 1)
        reasons = " ".join(by_option[(step, regimen)]["reasons"])
        for fragment in fragments:
            assert fragment.lower() not in reasons.lower(), f"{path.name}: {key}: {fragment!r} in reasons {reasons!r}"
    for key in case.get("expect_reasons_distinct", []):
        step, regimen = key.split(" | ", 1)
        reasons = by_option[(step, regimen)]["reasons"]
        assert len(reasons) == len(set(reasons)), f"{path.name}: {key}: a reason is repeated: {reasons!r}"
    warnings = " ".join(answer["warnings"])
    for fragment in case.get("expect_warnings", []):
        assert fragment.lower() in warnings.lower(), f"{path.name}: {fragment!r} not in warnings {answer['warnings']!r}"
    for fragment in case.get("expect_warnings_absent", []):
        assert fragment.lower() not in warnings.lower(), f"{path.name}: {fragment!r} in warnings {answer['warnings']!r}"
    for field, expected in case.get("expect_assessment", {}).items():
        assert answer["assessment"][field] == expected, f"{path.name}: assessment {field}"


def test_vignettes_reach_every_step_and_every_criterion(reasoner):
    """Between them, the vignettes make every treatment step recommended and every criterion true in one
    case and not true in another (false, or unknown for HER2-negative, which a valid patient cannot fail)."""
    recommended, values = set(), {}
    for path in VIGNETTES:
        case = load_json(path)
        answer = reasoner.recommend(case["patient"], today=dt.date.fromisoformat(case.get("today", "2026-11-25")))
        for option in answer["options"]:
            if option["status"] == "recommended":
                recommended.add(option["step"]["label"])
            for criterion in option["criteria"]:
                values.setdefault(criterion["id"], set()).add(criterion["value"])
    steps = {o.step_label for o in reasoner.catalog.options}
    assert steps <= recommended, steps - recommended
    assert len(VIGNETTES) >= 40
    untested = {c: v for c, v in values.items() if "true" not in v or v == {"true"}}
    assert not untested, untested
