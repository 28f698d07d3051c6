"""The package's layout: each subpackage says what it owns, and no module imports from a rank above its own.

Ranks (docs/architecture.md): core 0 < store 1 < graph 2 < patient 3 < reasoning 4 < service and the
presentation packages 5 < http, cohort 6 < cli, api 7. A module may import its own subpackage or lower ranks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kg_service"
RANKS = {
    "core": 0,
    "store": 1,
    "graph": 2,
    "patient": 3,
    "reasoning": 4,
    "service": 5,
    "drawing": 5,
    "cds": 5,
    "http": 6,
    "cohort": 6,
    "cli": 7,
    "api": 7,
    "__main__": 8,
    "__init__": 0,  # kg_service/__init__.py: the version only
}


def unit_of(module: str) -> str:
    """'kg_service.graph.loader' -> 'graph'; 'kg_service.service' -> 'service'; 'kg_service' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def project_imports(path: Path) -> list[tuple[int, str]]:
    """Every kg_service module the file imports (absolute or relative), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "kg_service"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "kg_service":
                continue
            if target == "kg_service":  # from kg_service import x: x may be a subpackage or module
                found += [(node.lineno, f"kg_service.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_rank():
    units = {unit_of(module_name(p)) for p in MODULES}
    assert units <= set(RANKS), f"give these a rank here and in docs/architecture.md: {sorted(units - set(RANKS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up(path: Path):
    own = unit_of(module_name(path))
    upward = []
    for line, target in project_imports(path):
        other = unit_of(target)
        if other == "__version__":
            continue
        if other != own and RANKS.get(other, 99) >= RANKS[own]:
            upward.append(f"line {line}: {target} (rank {RANKS.get(other)}) from {own} (rank {RANKS[own]})")
    assert not upward, "imports from a rank not below this module's:\n" + "\n".join(upward)


def test_every_subpackage_says_what_it_owns_and_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init.parent.name}/__init__.py needs a docstring"
        assert "import" in doc, f"{init.parent.name}/__init__.py must say what it may import"


def test_the_checker_sees_an_upward_import(tmp_path: Path):
    """The import walk is real: an upward import in a graph module is found."""
    fake = PACKAGE / "graph" / "_layout_probe.py"
    try:
        fake.write_text("from kg_service.service import Reasoner\nfrom ..http import state\n")
        targets = [t for _, t in project_imports(fake)]
        assert targets == ["kg_service.service", "kg_service.http"]
    finally:
        fake.unlink()


def test_the_contract_address_of_the_app_imports():
    from kg_service.api import app

    assert app.title
