"""Reading the JSON text of a patient document strictly, before it is mapped to RDF.

JSON as RFC 8259 defines it: no NaN or Infinity, unique names in an object, and bounded nesting; and the size
limits of `kg_service.patient.limits`. Each problem is a violation naming the field, so that a document that
`json.loads` would quietly accept ("id": NaN becoming "nan", a repeated key keeping its last value) is refused
with one precise message. Values the shapes judge (codes, dates, numbers) are left to them, except where the
JSON type itself is wrong for the field: a code given as a number ("ihc": 0), or a date that is no date.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

from kg_service.core.errors import BadRequest, Violation
from kg_service.patient.limits import LIMITS

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The fields whose value is a code: text in the document, whatever its value ("0" for IHC 0 is text).
CODE_FIELDS = {
    (): ("sex", "menopausal_status", "stage", "er", "pr"),
    ("her2",): ("ihc", "ish"),
    ("biomarkers", "*"): ("gene", "result", "origin", "specimen"),
    ("therapies", "*"): ("setting", "outcome"),
}
DATE_FIELDS = {
    (): ("metastatic_diagnosis_date",),
    ("biomarkers", "*"): ("date",),
    ("therapies", "*"): ("start_date", "end_date"),
}


class _Constant:
    """NaN, Infinity or -Infinity in the text: kept as a marker so the field can be named."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self) -> str:
        return self.name


class _Object(dict):
    """An object whose text repeats a name; `repeated` lists the names."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated = []
        for key, _ in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        marked = _Object(result)
        marked.repeated = repeated
        return marked
    return result


def parse_json(body: bytes | str) -> Any:
    """The JSON value of the body, with markers for NaN/Infinity and repeated names; BadRequest for a body
    that is not JSON at all (not UTF-8, a syntax error, nested past Python's limit)."""
    try:
        return json.loads(body, parse_constant=_Constant, object_pairs_hook=_object)
    except RecursionError:
        raise BadRequest("the body is not a patient document: its JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


def _refuse_constant(name: str):
    raise BadRequest(f"the body is not valid JSON: {name} is not a JSON number")


def _refuse_repeated(pairs: list[tuple[str, Any]]) -> dict:
    result = _object(pairs)
    if isinstance(result, _Object):
        raise BadRequest(
            f"the body is not valid JSON: the name {result.repeated[0]!r} is given twice in one object, "
            "so which value was meant is unknown"
        )
    return result


def strict_json(body: bytes | str) -> Any:
    """The JSON value of a body that is not a patient document (a CDS Hooks request): BadRequest naming the
    first NaN, Infinity or repeated name, where parse_json keeps a marker for a patient field to be named."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, object_pairs_hook=_refuse_repeated)
    except RecursionError:
        raise BadRequest("the body is nested too deeply to be read as JSON") from None
    except (ValueError, UnicodeDecodeError) as exc:  # BadRequest, raised by the hooks, is no ValueError
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


def own_copy(document: Any) -> Any:
    """A deep copy of a document given as Python values (check_document changes the document it checks)."""
    try:
        return copy.deepcopy(document)
    except RecursionError:
        raise BadRequest("the body is not a patient document: it is nested too deeply") from None


def _where(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _shape(path: tuple) -> tuple:
    return tuple("*" if isinstance(p, int) else p for p in path)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"true/false value {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"number {json.dumps(value)}"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return repr(value)


def _date_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a valid date written YYYY-MM-DD, as text (got the {_kind(value)})"
    if not _DATE.fullmatch(value):
        return f"must be a valid date written YYYY-MM-DD (got {value!r})"
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        year, month, day = (int(p) for p in value.split("-"))
        if not 1 <= month <= 12:
            return f"is not a valid date: {value!r} has no month {month}"
        if year == 0:
            return f"is not a valid date: {value!r} has year 0"
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        return f"is not a valid date: {value!r} has day {day}, and {dt.date(year, month, 1):%B %Y} has {last} days"
    return None


def check_document(document: Any) -> list[Violation]:
    """The violations of a parsed document that are the JSON text's own, each naming its field: values that
    are not JSON (NaN, Infinity), repeated names, a code that is not text, a date that is no date, and every
    size limit passed. The document is changed in place: past a limit it is cut down to it (the lists
    shortened, the texts cut), so that the work spent on refusing it is bounded by the limits whatever was
    sent; and a date that is no date is left out once reported (otherwise "start_date is after end_date"
    would be added for an end_date of "2024-13-01")."""
    found: list[Violation] = []
    stack: list[tuple[tuple, Any, Any, Any]] = [((), document, None, None)]
    while stack:
        path, value, parent, key = stack.pop()
        where = _where(path)
        if isinstance(value, _Constant):
            found.append(Violation(where, f"is {value.name}, which is not a JSON value (JSON numbers are finite)"))
        elif isinstance(value, str):
            if len(value) > LIMITS.string_length:
                found.append(
                    Violation(where, f"is {len(value):,} characters long; at most {LIMITS.string_length} are accepted")
                )
                parent[key] = value[: LIMITS.string_length]
        elif isinstance(value, dict):
            for name in getattr(value, "repeated", ()):
                found.append(
                    Violation(
                        _where((*path, name)),
                        "appears more than once in the same object; a JSON object's names must be unique, "
                        "and which value was meant cannot be guessed",
                    )
                )
            if len(value) > LIMITS.fields:
                found.append(Violation(where, f"has {len(value):,} fields; at most {LIMITS.fields} are accepted"))
                for name in list(value)[LIMITS.fields :]:
                    del value[name]
            for name, item in list(value.items()):
                if len(name) > LIMITS.string_length:
                    found.append(Violation(where, f"has a field name of {len(name):,} characters"))
                    del value[name]
                    continue
                stack.append(((*path, name), item, value, name))
            shape = _shape(path)
            for name in CODE_FIELDS.get(shape, ()):
                item = value.get(name)
                if item is not None and not isinstance(item, (str, _Constant)):
                    found.append(Violation(_where((*path, name)), f"must be text, in quotes (got the {_kind(item)})"))
            for name in DATE_FIELDS.get(shape, ()):
                item = value.get(name)
                if item is not None and not isinstance(item, _Constant):
                    problem = _date_problem(item)
                    if problem:  # reported here; left out, so that no comparison with it is judged as well
                        found.append(Violation(_where((*path, name)), problem))
                        del value[name]
        elif isinstance(value, list):
            limit = LIMITS.list_limit(_shape(path))
            if len(value) > limit:
                found.append(Violation(where, f"has {len(value):,} entries; at most {limit} are accepted"))
                del value[limit:]
            stack.extend(((*path, index), item, value, index) for index, item in enumerate(value))
    return sorted(found, key=lambda v: (v.field, v.message))


def supersede(parsed: list[Violation], judged: list[Violation]) -> list[Violation]:
    """The parser's violations and the shapes', where a field the parser already named keeps the parser's
    message only: for "2025-02-30" the shapes would add that it is no xsd:date, is not on or after 1900-01-01
    and lies in the future (two of them false, since it is no date at all)."""
    named = {v.field for v in parsed}
    merged = set(parsed) | {v for v in judged if v.field not in named}
    return sorted(merged, key=lambda v: (v.field, v.message))
