"""What the public SPARQL endpoint refuses before running anything: updates, LOAD and SERVICE.

The query text is scanned with its strings, IRIs, comments, variables and prefixed names removed, so a
keyword inside a literal or an IRI does not trip it; the endpoint is closed to the outside whatever the
engine would do.
"""

from __future__ import annotations

import re

_STRIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # long strings
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'  # short strings
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"  # IRIs
    r"|#[^\n]*"  # comments
    r"|[?$][A-Za-z0-9_\u00b7-\uffff]+"  # variables
    r"|[A-Za-z0-9_.\-\u00b7-\uffff]*:[A-Za-z0-9_.\-:%\u00b7-\uffff]*",  # prefixed names and prefix declarations
    re.DOTALL,
)
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


class RefusedQuery(ValueError):
    """A query the endpoint will not run, with the reason in words."""


def keywords(query: str) -> set[str]:
    return {w.upper() for w in re.findall(r"[A-Za-z]+", _STRIP.sub(" ", query))}


def check_query(query: str) -> None:
    """Raise RefusedQuery for SPARQL Update (LOAD included) and SERVICE."""
    if not query or not query.strip():
        raise RefusedQuery("the request has no query")
    words = keywords(query)
    if "SERVICE" in words:
        raise RefusedQuery("SERVICE is refused: this endpoint never calls other endpoints")
    if "LOAD" in words:
        raise RefusedQuery("LOAD is refused: this endpoint is read-only and never fetches remote data")
    found = words & UPDATE_WORDS
    if found:
        raise RefusedQuery(f"SPARQL Update ({', '.join(sorted(found))}) is refused: this endpoint is read-only")


def query_form(query: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first form keyword of the query."""
    for word in re.findall(r"[A-Za-z]+", _STRIP.sub(" ", query)):
        upper = word.upper()
        if upper in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return upper
    raise RefusedQuery("the query has no SELECT, ASK, CONSTRUCT or DESCRIBE form")
