"""Where the knowledge files live: the repository's top-level folders, or the copy inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # kg_service/


def data_dir(name: str) -> Path:
    """Return the folder `name` (ontology, shapes or queries), from a checkout or an installed wheel."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder next to {_PACKAGE}")
