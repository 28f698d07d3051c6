"""The cost of the worst patient document the service accepts, against a normal one, in the same run.

The worst accepted document is at every limit of kg_service.patient.limits at once: 50 therapy lines (one
adjuvant, 49 metastatic, numbered without gaps), 10 drugs in each line, 100 biomarker results, and texts of
the longest accepted length. It is valid, so it is validated and derived in full. The script times
`Reasoner.recommend` on it and on the example patient, alternating, and prints the medians and their ratio;
with --scaling it also times documents at fractions of the limits, to show how the cost grows with the
number of entries (linear: the time per entry stays flat).

    python benchmarks/worst_document.py [--runs 15] [--scaling]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg_service.patient.limits import LIMITS  # noqa: E402

TODAY = dt.date(2026, 11, 25)
DRUGS = ["letrozole", "anastrozole", "exemestane", "fulvestrant", "ribociclib", "palbociclib", "abemaciclib",
         "capecitabine", "eribulin", "paclitaxel", "goserelin", "elacestrant"]  # fmt: skip
GENES = ["ESR1", "PIK3CA", "AKT1", "PTEN", "BRCA1", "BRCA2"]


def _month(start: dt.date, months: int) -> dt.date:
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def worst_document(lines: int = LIMITS.therapies, results: int = LIMITS.biomarkers, drugs: int = LIMITS.drugs) -> dict:
    """A valid document at the limits (or at the given counts)."""
    diagnosis = dt.date(2021, 1, 1)
    therapies = [
        {"setting": "adjuvant", "drugs": DRUGS[:1], "start_date": "2014-01-01", "end_date": "2019-01-01"},
    ]
    for n in range(1, lines):
        start = _month(diagnosis, n)
        therapies.append(
            {
                "setting": "metastatic",
                "line": n,
                "drugs": [DRUGS[(n + k) % len(DRUGS)] for k in range(drugs)],
                "start_date": start.isoformat(),
                "end_date": _month(start, 1).isoformat(),
                "outcome": "progression",
            }
        )
    variant = ("p." + "A" * LIMITS.string_length)[: LIMITS.string_length]
    biomarkers = [
        {
            "gene": GENES[i % len(GENES)],
            "result": "detected" if i % 2 else "not_detected",
            "variant": variant,
            "origin": "germline" if i % 3 == 0 else "somatic",
            "specimen": "plasma" if i % 2 else "tissue",
            "date": _month(diagnosis, i % 60).isoformat(),
        }
        for i in range(results)
    ]
    return {
        "id": "w" * 64,
        "sex": "female",
        "menopausal_status": "postmenopausal",
        "stage": "metastatic",
        "metastatic_diagnosis_date": diagnosis.isoformat(),
        "er": "positive",
        "pr": "negative",
        "her2": {"ihc": "1+", "ish": "not_done"},
        "biomarkers": biomarkers,
        "therapies": therapies,
    }


def _time(reasoner, body: bytes) -> float:
    started = time.perf_counter()
    reasoner.recommend(body, "application/json", today=TODAY)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--scaling", action="store_true", help="also time documents at 10%%, 25%%, 50%% of the limits")
    args = parser.parse_args()

    from kg_service.service import Reasoner

    reasoner = Reasoner(sparql_endpoint="")
    normal = (ROOT / "examples" / "patient-esr1-after-cdk46.json").read_bytes()
    worst = json.dumps(worst_document()).encode()
    sizes = {"normal": normal, "worst": worst}
    if args.scaling:
        for share in (0.1, 0.25, 0.5):
            counts = (max(2, int(LIMITS.therapies * share)), max(1, int(LIMITS.biomarkers * share)))
            sizes[f"{int(share * 100)}%"] = json.dumps(worst_document(*counts)).encode()
    for body in sizes.values():  # warm up, and check each is answered
        _time(reasoner, body)
    times: dict[str, list[float]] = {name: [] for name in sizes}
    for _ in range(args.runs):  # alternating, so that the machine's drift falls on all alike
        for name, body in sizes.items():
            times[name].append(_time(reasoner, body))
    base = statistics.median(times["normal"])
    print(f"{'document':<8} {'bytes':>8} {'entries':>7} {'median ms':>10} {'x normal':>9} {'ms/entry':>9}")
    for name, body in sizes.items():
        document = json.loads(body)
        entries = len(document.get("therapies", [])) + len(document.get("biomarkers", []))
        median = statistics.median(times[name])
        print(
            f"{name:<8} {len(body):>8} {entries:>7} {median * 1000:>10.1f} {median / base:>9.1f} "
            f"{median * 1000 / entries:>9.2f}"
        )


if __name__ == "__main__":
    main()
