"""Every command that reads a file answers a missing or unreadable one with a clear error naming the file and
exit status 2, never a traceback (issue 12 review, defect 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_service.cli import main

READERS = [
    ["recommend", "{path}"],
    ["validate", "{path}"],
    ["screen", "{path}"],
    ["draw", "{path}"],
]


@pytest.mark.parametrize("command", READERS, ids=[c[0] for c in READERS])
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_file_is_a_clear_error(tmp_path: Path, capsys, command: list[str], kind: str):
    path = tmp_path / "missing.json" if kind == "missing" else tmp_path
    argv = [part.format(path=path) for part in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err, err
    assert err.startswith(f"mbc-kg {command[0]}: "), err
