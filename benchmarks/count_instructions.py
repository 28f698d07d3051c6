"""Instructions per patient, end to end on 1 thread: `python benchmarks/count_instructions.py`.

Runs the one-patient pipeline (validate + derive + explain, the embedded store, the compiled shapes) over the
first 20 vignettes under valgrind's callgrind, once with `--rounds` rounds and once with none, and prints the
difference per patient. Instruction counts do not depend on what else the machine is doing, so this is the
figure to compare two versions by on a shared machine whose speed varies by up to 2x within minutes (the
timings of run.py are the ones the targets are stated in). Needs valgrind; takes about 3 minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_rounds(rounds: int) -> None:
    sys.path.insert(0, str(ROOT))
    from inputs import TODAY, vignettes

    from kg_service.service import Reasoner

    patients = vignettes()
    reasoner = Reasoner(sparql_endpoint="", threads=1)
    reasoner.recommend(patients[0], today=TODAY)  # first-call costs (caches) belong to start-up
    for _ in range(rounds):
        for patient in patients[:20]:
            reasoner.recommend(patient, today=TODAY)


def instructions(rounds: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--inside", str(rounds)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    match = re.search(r"Collected : (\d+)", output)
    if match is None:
        raise SystemExit(f"callgrind printed no count:\n{output[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the 20 vignettes (default 1)")
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside is not None:
        run_rounds(args.inside)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    per_patient = (instructions(args.rounds) - instructions(0)) / (20 * args.rounds)
    print(f"one patient end to end, 1 thread: {per_patient / 1e6:.1f} million instructions (callgrind)")


if __name__ == "__main__":
    main()
