"""Synthetic patients (contract documents) for benchmarks and load tests: valid, plausible, reproducible
from a seed, across every branch of the pathway. Drugs, regimens and genes are drawn from the graph."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator

from rdflib import Graph

from kg_service.graph import queries as query_catalog

HER2 = [
    {"ihc": "0"},
    {"ihc": "0", "membrane_staining": True},
    {"ihc": "1+"},
    {"ihc": "2+", "ish": "negative"},
    {"ihc": "2+"},
]


class CohortGenerator:
    def __init__(self, graph: Graph, today: dt.date):
        self.today = today
        regimens: dict = defaultdict(lambda: defaultdict(list))
        self.alterations: dict = defaultdict(lambda: {"genes": [], "origin": None})
        self.adjuvant, self.adjuvant_chemo = [], []
        for row in graph.query(query_catalog.load("service/synthetic-vocabulary")):
            kind, name = str(row.kind), str(row.name)
            if kind == "regimen":
                regimens[row.item][row.part].append(name)
            elif kind == "alteration":
                self.alterations[row.item]["genes"].append(name)
                self.alterations[row.item]["origin"] = str(row.origin) if row.origin else None
            elif kind == "adjuvant":
                self.adjuvant.append(name)
            else:
                self.adjuvant_chemo.append(name)
        self.regimens = [list(parts.values()) for _, parts in sorted(regimens.items())]
        self.genes = sorted({(g, a["origin"]) for a in self.alterations.values() for g in a["genes"]})

    def patient(self, rng: random.Random, index: int) -> dict:
        n_lines = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4])
        days_ago = rng.randint(40 + 150 * n_lines, 3500)
        diagnosis = self.today - dt.timedelta(days=days_ago)
        sex = "male" if rng.random() < 0.03 else "female"
        document: dict = {
            "id": f"syn-{index:07d}",
            "sex": sex,
            "stage": rng.choice(["metastatic"] * 9 + ["locally_advanced_unresectable"]),
            "metastatic_diagnosis_date": diagnosis.isoformat(),
            "er": rng.choice(["positive"] * 9 + ["low"]),
            "pr": rng.choice(["positive", "negative", "unknown"]),
            "her2": dict(rng.choice(HER2)),
            "biomarkers": [],
            "therapies": [],
        }
        if sex == "female":
            document["menopausal_status"] = rng.choice(["postmenopausal"] * 4 + ["premenopausal"])
        if rng.random() < 0.6:  # adjuvant endocrine therapy, ending from a year before relapse to 4 years before
            gap = rng.randint(-120, 1500)
            end = diagnosis - dt.timedelta(days=gap)
            if gap < 0:
                end = None
            start = diagnosis - dt.timedelta(days=max(gap, 0) + rng.randint(365, 1800))
            document["therapies"].append(
                {
                    "setting": "adjuvant",
                    "drugs": [rng.choice(self.adjuvant)],
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat() if end else None,
                }
            )
            if rng.random() < 0.4:
                chemo_end = start - dt.timedelta(days=30)
                document["therapies"].append(
                    {
                        "setting": "adjuvant",
                        "drugs": [rng.choice(self.adjuvant_chemo)],
                        "start_date": (chemo_end - dt.timedelta(days=120)).isoformat(),
                        "end_date": chemo_end.isoformat(),
                    }
                )
        for gene, origin in self.genes:
            if rng.random() < 0.55:
                tested = diagnosis + dt.timedelta(days=rng.randint(0, days_ago))
                document["biomarkers"].append(
                    {
                        "gene": gene,
                        "result": "detected" if rng.random() < 0.25 else "not_detected",
                        "origin": origin or "somatic",
                        "specimen": rng.choice(["tissue", "plasma"]),
                        "date": tested.isoformat(),
                    }
                )
        start = diagnosis + dt.timedelta(days=10)
        for line in range(1, n_lines + 1):
            drugs = [rng.choice(choices) for choices in rng.choice(self.regimens)]
            length = rng.randint(60, 140)
            last = line == n_lines
            ongoing = last and rng.random() < 0.3
            end = start + dt.timedelta(days=length)
            if end > self.today:
                end, ongoing = None, True
            document["therapies"].append(
                {
                    "setting": "metastatic",
                    "line": line,
                    "drugs": drugs,
                    "start_date": start.isoformat(),
                    "end_date": None if ongoing else end.isoformat(),
                    "outcome": "ongoing" if ongoing else rng.choice(["progression"] * 6 + ["toxicity"]),
                }
            )
            if ongoing:
                break
            start = end + dt.timedelta(days=7)
        return document

    def cohort(self, n: int, seed: int) -> Iterator[dict]:
        rng = random.Random(seed)
        for index in range(1, n + 1):
            yield self.patient(rng, index)
