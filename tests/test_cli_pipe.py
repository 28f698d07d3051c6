"""`mbc-kg recommend FILE | head` ends quietly: a reader that goes away is no traceback."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_a_closed_pipe_is_no_traceback():
    example = ROOT / "examples" / "patient-esr1-after-cdk46.json"
    command = [sys.executable, "-m", "kg_service", "recommend", str(example)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader goes away before the answer is printed, as `| head -1` may
        error = process.stderr.read().decode()
        process.wait(timeout=120)
    assert "Traceback" not in error, error
    assert "BrokenPipeError" not in error, error
