"""Shared fixtures: the knowledge graph and the reasoner are built once per test session."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kg_service.graph.loader import load_graph
from kg_service.service import Reasoner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def graph():
    return load_graph()


@pytest.fixture(scope="session")
def reasoner(graph):
    return Reasoner(graph=graph, sparql_endpoint="")  # embedded, whatever MBC_KG_SPARQL_ENDPOINT says


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def statuses(answer: dict) -> dict[tuple[str, str], str]:
    return {(o["step"]["label"], o["regimen"]["label"]): o["status"] for o in answer["options"]}
