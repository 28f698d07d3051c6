"""What the FHIR input costs: each fixture bundle of tests/fixtures/fhir/ answered as a FHIR Bundle and as its
equivalent patient document, interleaved in the same run (the JSON document is the baseline); and the
conversion alone. Prints medians in ms and the ratio FHIR / JSON.

    python benchmarks/fhir_input.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.inputs import ROOT, TODAY  # noqa: E402
from kg_service.service import Reasoner  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "fhir"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    started = time.perf_counter()
    reasoner = Reasoner(threads=1)
    reasoner.fhir  # noqa: B018 - prepared once, as a server does on its first FHIR request
    print(f"start-up with the FHIR adapter: {time.perf_counter() - started:.2f} s")
    names = sorted(
        p.name.removesuffix(".bundle.json") for p in FIXTURES.glob("*.bundle.json") if not p.name.startswith("bad-")
    )
    for name in names:
        bundle = (FIXTURES / f"{name}.bundle.json").read_bytes()
        document = (FIXTURES / f"{name}.patient.json").read_bytes()
        fhir, plain, convert = [], [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            reasoner.recommend(bundle, "application/fhir+json", today=TODAY)
            fhir.append(time.perf_counter() - t)
            t = time.perf_counter()
            reasoner.recommend(document, "application/json", today=TODAY)
            plain.append(time.perf_counter() - t)
            parsed = json.loads(bundle)
            t = time.perf_counter()
            reasoner.fhir.convert(parsed)
            convert.append(time.perf_counter() - t)
        f, p, c = (statistics.median(x) * 1000 for x in (fhir, plain, convert))
        print(f"{name:28s} FHIR {f:7.2f} ms  JSON {p:7.2f} ms  ratio {f / p:4.2f}  conversion alone {c:5.2f} ms")


if __name__ == "__main__":
    main()
