"""Issue 14, items 10 and 13: `mbc-kg --help` lists every command, each command and each of its options has
a help text, and `recommend --verbose` shows, for every closed option, what closed it first."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from kg_service.cli import build_parser, print_table


def commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_top_level_help_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "kg_service", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ") and line.split()]
    assert set(commands()) <= set(listed), (sorted(commands()), listed)
    for name in ("load", "screen", "synth", "serve", "validate"):
        assert name in listed


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_and_option_has_help(name):
    parser = commands()[name]
    assert parser.description, f"{name} has no description"
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"


def test_verbose_shows_the_failing_criterion_before_missing_data(capsys):
    option = {
        "status": "not_eligible",
        "step": {"id": "s", "label": "PARP inhibitor"},
        "regimen": {"id": "r", "label": "Olaparib", "drugs": ["olaparib"]},
        "reasons": ["not met: prior chemotherapy in the metastatic or (neo)adjuvant setting"],
        "missing": ["germline BRCA1 test"],
        "evidence": [],
    }
    undetermined = dict(option, status="undetermined", reasons=["met: HER2-negative"], missing=["ESR1 test"])
    answer = {
        "patient_id": "p",
        "knowledge_graph_version": "v",
        "assessment": {"endocrine_sensitivity": "sensitive", "her2_category": "low", "metastatic_lines": 1},
        "options": [option, undetermined],
        "warnings": [],
    }
    print_table(answer, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    closed = next(line for line in lines if line.startswith("not eligible"))
    assert closed.endswith("not met: prior chemotherapy in the metastatic or (neo)adjuvant setting")
    open_ = next(line for line in lines if line.startswith("undetermined"))
    assert open_.endswith("missing: ESR1 test") and any(line.strip() == "met: HER2-negative" for line in lines)
