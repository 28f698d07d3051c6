"""What the public SPARQL endpoint refuses before running anything: updates (LOAD included) and SERVICE.

The guard reads the query as rdflib's SPARQL 1.1 parser parses it, not its keywords: a query is run only when
it parses as a query (SELECT, ASK, CONSTRUCT, DESCRIBE) with no SERVICE pattern anywhere; a text that parses
as an update is refused as one, and a text that parses as neither is malformed. `"x"@add` or a variable named
?insert are therefore just what they are. The engine (Oxigraph) parses the query again and would follow a
SERVICE IRI, so the guard is what keeps the endpoint from calling out; it runs in the query worker, under the
query's time limit.
"""

from __future__ import annotations

import sys
import threading

from pyparsing import ParseBaseException
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
# rdflib's grammar recurses once per triple pattern and per nesting level; a 20,000-character query needs
# far more than Python's default depth, so the parse runs on a thread of its own with a large stack.
PARSE_STACK_BYTES = 512 * 1024 * 1024
PARSE_RECURSION = 200_000
UPDATE_NAMES = {
    "Load": "LOAD",
    "Clear": "CLEAR",
    "Drop": "DROP",
    "Create": "CREATE",
    "Add": "ADD",
    "Move": "MOVE",
    "Copy": "COPY",
    "InsertData": "INSERT DATA",
    "DeleteData": "DELETE DATA",
    "DeleteWhere": "DELETE WHERE",
    "Modify": "DELETE/INSERT",
}


class RefusedQuery(ValueError):
    """A query the endpoint will not run (an update, SERVICE), with the reason in words."""


class MalformedQuery(ValueError):
    """A text that is neither a SPARQL 1.1 query nor an update."""


def _on_big_stack(function, *args):
    """Run function(*args) on a thread with a large stack and recursion limit; return or raise its outcome."""
    outcome: dict = {}

    def target() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, PARSE_RECURSION))
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc
        finally:
            sys.setrecursionlimit(limit)

    previous = threading.stack_size(PARSE_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="sparql-guard")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _has_service(tree) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return True
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)) or hasattr(node, "as_list"):
            stack.extend(node)
    return False


def _update_names(tree) -> list[str]:
    names = []
    for part in tree.get("request", []) if isinstance(tree, CompValue) else []:
        if isinstance(part, CompValue) and part.name in UPDATE_NAMES:
            names.append(UPDATE_NAMES[part.name])
    return sorted(set(names)) or ["an update"]


def _read(query: str) -> str:
    try:
        tree = parseQuery(query)
    except ParseBaseException as query_error:
        try:
            update = parseUpdate(query)
        except ParseBaseException:
            raise MalformedQuery(str(query_error)) from None
        names = _update_names(update)
        if "LOAD" in names:
            raise RefusedQuery("LOAD is refused: this endpoint is read-only and never fetches remote data") from None
        raise RefusedQuery(f"SPARQL Update ({', '.join(names)}) is refused: this endpoint is read-only") from None
    if _has_service(tree):
        raise RefusedQuery("SERVICE is refused: this endpoint never calls other endpoints")
    return FORMS[tree[1].name]


def read_query(query: str) -> str:
    """The form of a query the endpoint may run (SELECT, ASK, CONSTRUCT or DESCRIBE); raise RefusedQuery for
    an update or SERVICE, MalformedQuery for a text that is not SPARQL 1.1."""
    if not query or not query.strip():
        raise RefusedQuery("the request has no query")
    try:
        return _on_big_stack(_read, query)
    except RecursionError:
        raise MalformedQuery("the query is nested too deeply to be read") from None
