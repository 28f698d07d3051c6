"""The SPARQL query catalog: every query is a .rq file under queries/, loaded by name and cached."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from kg_service.core.resources import data_dir


def queries_dir() -> Path:
    return data_dir("queries")


@cache
def load(name: str) -> str:
    """Return the text of queries/<name>.rq (name may contain a sub-folder, e.g. 'checks/x')."""
    path = queries_dir() / f"{name}.rq"
    if not path.is_file():
        raise KeyError(f"no query named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def names(folder: str = "") -> list[str]:
    """Names of the queries in a folder, sorted (the eligibility pipeline runs in this order)."""
    base = queries_dir()
    root = base / folder if folder else base
    return sorted(str(p.relative_to(base).with_suffix("")) for p in root.rglob("*.rq"))


def header(name: str) -> str:
    """The leading comment block of a query: what it answers, its parameters, an example."""
    lines = []
    for line in load(name).splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").rstrip())
    return "\n".join(lines).strip()


def parameters(name: str) -> list[str]:
    """Parameters a query declares in its header ('# Parameters: step (IRI, optional) ...'): variables that
    a caller may bind; the query runs unchanged, over everything, when they are left unbound."""
    match = re.search(r"^#\s*Parameters:(.*)$", load(name), flags=re.MULTILINE)
    return re.findall(r"(\w+) \((?:IRI|literal)", match.group(1)) if match else []


ALL_EARLIER = "all earlier steps"


def uses(name: str) -> list[str] | str:
    """The other steps of a pipeline whose triples a query reads, from its header ('# Uses: 30-x, 35-y.',
    '# Uses: no other step ...', or '# Uses: all earlier steps ...'): step names, or ALL_EARLIER. A query
    with no such line is taken to read every earlier step (the safe reading: it runs after all of them)."""
    return uses_in(load(name))


def uses_in(text: str) -> list[str] | str:
    """The 'Uses:' declaration of a query's text (see uses); it may go on over indented comment lines."""
    match = re.search(r"^#\s*Uses:(.*(?:\n#\s{2,}.*)*)", text, flags=re.MULTILINE)
    if match is None or match.group(1).strip().startswith(ALL_EARLIER):
        return ALL_EARLIER
    declared = match.group(1)
    if declared.rstrip().endswith(","):
        raise ValueError(f"the 'Uses:' list ends with a comma; continue it on lines starting '#   ': {declared!r}")
    return re.findall(r"\b\d+-[a-z0-9-]*[a-z0-9]", declared)
