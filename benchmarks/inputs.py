"""What every benchmark runs on: the clinical vignettes of the test suite, judged as of a fixed day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 25)


def vignettes() -> list[dict]:
    """The patient documents of tests/vignettes/, in file-name order."""
    paths = sorted((ROOT / "tests" / "vignettes").glob("*.json"))
    return [json.loads(path.read_text(encoding="utf-8"))["patient"] for path in paths]
