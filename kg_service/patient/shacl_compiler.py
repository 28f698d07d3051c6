"""SHACL shapes compiled to SPARQL queries, for fast validation on Oxigraph (and in batches).

The shapes stay the single statement of every rule; this module translates the part of SHACL Core they use
(and SHACL-SPARQL constraints) into SPARQL, one query per constraint reporting ?this and ?value for the
shape it checks. pySHACL remains the reference: `tests/test_shacl_sparql.py` proves both report the same violations,
and a shape using a feature this compiler does not know is refused at start-up (the caller then falls back
to pySHACL) rather than silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from kg_service.graph.shapes import SH

KNOWN_PROPERTY_KEYS = {
    SH.path,
    SH.name,
    SH.message,
    SH.minCount,
    SH.maxCount,
    SH.datatype,
    SH.pattern,
    SH["in"],
    SH.nodeKind,
    SH.minInclusive,
    SH.lessThanOrEquals,
    SH["not"],
    RDF.type,
    SH.description,
    SH.deactivated,
    SH.order,
    SH.group,
    SH.hasValue,
    RDFS.label,
    RDFS.comment,
}
KNOWN_NODE_KEYS = {
    RDF.type,
    SH.targetClass,
    SH.property,
    SH["or"],
    SH["not"],
    SH["and"],
    SH.sparql,
    SH.name,
    SH.message,
    SH.description,
    SH.deactivated,
    RDFS.label,
    RDFS.comment,
    RDFS.subClassOf,  # a shape that is also a class
}
# SHACL Core: "a shape has at most one value" for these (pySHACL refuses more); others may repeat.
SINGLE_VALUED = {SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minInclusive, SH["in"], SH.deactivated}
# Targets other than sh:targetClass and implicit class targets are refused: the compiler would not visit their
# focus nodes.
OTHER_TARGETS = (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)
IMPLICIT = (RDFS.Class, URIRef("http://www.w3.org/2002/07/owl#Class"))  # a shape that is a class targets itself
# A focus node of sh:targetClass C is an instance of C or of a subclass of C, in the data graph (SHACL 2.1.3.3).
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
INSTANCE_PATH = f"{RDF_TYPE}/<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"
INSTANCE = f"?this {INSTANCE_PATH} ?class"


class UnsupportedShape(ValueError):
    pass


@dataclass
class Check:
    key: str
    shape: URIRef | BNode  # the shape reported as sh:sourceShape (property shape or node shape)
    message: str


def _term(node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise UnsupportedShape(f"cannot write {node!r} into SPARQL")


def _escape(text: str) -> str:
    """The text as the inside of a SPARQL "..." literal (a line break would end the query's string)."""
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(raw, escaped)
    return text


# A literal of one of these datatypes is well formed when the cast to its datatype succeeds (an ill-typed
# literal, "p1"^^xsd:integer, is a violation of sh:datatype, SHACL 4.1.2); other datatypes are refused.
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
CASTS = ("integer", "decimal", "double", "float", "boolean", "date", "dateTime")
PLAIN_DATATYPES = (f"{XSD_NS}string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")
WELL_FORMED = (
    "COALESCE("
    + "".join(f"IF(?datatype = <{XSD_NS}{name}>, isLiteral(<{XSD_NS}{name}>(STR(?value))), " for name in CASTS)
    + " true"
    + ")" * len(CASTS)
    + ", false)"
)
KNOWN_DATATYPES = {URIRef(f"{XSD_NS}{name}") for name in CASTS} | {URIRef(d) for d in PLAIN_DATATYPES}
PREFIXES = (
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)

# Constraints of one kind on an IRI path share one pattern: a row of VALUES each (?check, the target ?class,
# the ?path, and the kind's parameters). Oxigraph plans a query in time that grows faster than the number of
# its UNION branches, and a table of 9 rows costs it far less than 9 branches.
FOCUS = f"{INSTANCE} . "  # an instance of the target class or of a subclass
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "minCount1": ((), FOCUS + "FILTER NOT EXISTS { ?this ?path ?v }"),
    "maxCount1": ((), FOCUS + "?this ?path ?v1 , ?v2 . FILTER(!sameTerm(?v1, ?v2))"),
    "datatype": (
        ("?datatype",),
        FOCUS + "?this ?path ?value . "
        "FILTER(!isLiteral(?value) || DATATYPE(?value) != ?datatype || !(" + WELL_FORMED + "))",
    ),
    "pattern": (
        ("?pattern",),
        FOCUS + "?this ?path ?value . FILTER(isBlank(?value) || !REGEX(STR(?value), ?pattern))",
    ),
    "nodeKind": (
        ("?kind",),
        FOCUS + "?this ?path ?value . FILTER((?kind = <http://www.w3.org/ns/shacl#IRI> && !isIRI(?value)) "
        "|| (?kind = <http://www.w3.org/ns/shacl#Literal> && !isLiteral(?value)) "
        "|| (?kind = <http://www.w3.org/ns/shacl#BlankNode> && !isBlank(?value)))",
    ),
    "minInclusive": (
        ("?bound",),
        FOCUS + "?this ?path ?value . FILTER(!COALESCE(?value >= ?bound, false))",
    ),
    "lessThanOrEquals": (
        ("?other",),
        FOCUS + "?this ?path ?value ; ?other ?limit . FILTER(!COALESCE(?value <= ?limit, false))",
    ),
    "hasValue": (
        ("?required",),
        FOCUS + "FILTER NOT EXISTS { ?this ?path ?required }",
    ),
    "notHasValue": (
        ("?forbidden",),
        FOCUS + "?this ?path ?value . FILTER(sameTerm(?value, ?forbidden))",
    ),
    # sh:in: the values of the path, minus the (check, member) pairs of the lists (sh:in compares terms)
    "in": (
        (),
        FOCUS + "?this ?path ?value . MINUS { VALUES (?check ?value) { %(members)s } }",
    ),
}


class ShapeCompiler:
    def __init__(self, shapes: Graph):
        self.g = shapes
        self.checks: list[Check] = []
        self.branches: list[str] = []
        self.rows: dict[str, list[str]] = {kind: [] for kind in TABLES}
        self.members: list[str] = []  # (check, member) rows of the sh:in lists
        self.refused: dict = {}  # shape -> why it is not compiled

    def _snapshot(self) -> tuple:
        return len(self.checks), len(self.branches), {k: len(v) for k, v in self.rows.items()}, len(self.members)

    def _restore(self, snapshot: tuple) -> None:
        checks, branches, rows, members = snapshot
        del self.checks[checks:], self.branches[branches:], self.members[members:]
        for kind, count in rows.items():
            del self.rows[kind][count:]

    def _values(self, shape, key) -> list:
        """Every value of a parameter (a parameter may be given more than once: each is a constraint); for the
        parameters SHACL allows at most once, more than one value is an ill-formed shape, refused."""
        values = sorted(self.g.objects(shape, key), key=lambda v: v.n3())
        if len(values) > 1 and key in SINGLE_VALUED:
            raise UnsupportedShape(f"{shape} has {len(values)} values of {key}, which SHACL allows once")
        return values

    def _key(self, shape, message: str) -> str:
        key = f"c{len(self.checks)}"
        self.checks.append(Check(key, shape, message))
        return key

    def _add(self, shape, message: str, where: str) -> None:
        key = self._key(shape, message)
        self.branches.append(f'{{ {where} BIND("{key}" AS ?check) }}')

    def _row(self, kind: str, shape, message: str, target: str, path: str, *params: str) -> str:
        key = self._key(shape, message)
        self.rows[kind].append(f'("{key}" {target} {path}{"".join(" " + p for p in params)})')
        return key

    def _tables(self) -> list[str]:
        """One UNION branch per kind of constraint that has rows."""
        branches = []
        for kind, (params, where) in TABLES.items():
            if self.rows[kind]:
                head = " ".join(("?check", "?class", "?path", *params))
                where = where % {"members": " ".join(self.members)} if kind == "in" else where
                branches.append(f"{{ VALUES ({head}) {{ {' '.join(self.rows[kind])} }} {where} }}")
        return branches

    def _path(self, shape) -> str:
        path = self.g.value(shape, SH.path)
        if not isinstance(path, URIRef):
            raise UnsupportedShape(f"only IRI paths are compiled ({shape})")
        return _term(path)

    def _conforms(self, shape, this: str = "?this") -> str:
        """A SPARQL boolean expression: does the focus node conform to this (small) shape?"""
        keys = set(self.g.predicates(shape, None)) - {RDF.type, SH.message, SH.name}
        parts = []
        for inner in self._values(shape, SH["not"]):
            parts.append(f"!({self._conforms(inner, this)})")
        for logic, joiner in ((SH["and"], " && "), (SH["or"], " || ")):
            for head in self._values(shape, logic):
                members = self._list(head)
                parts.append("(" + joiner.join(self._conforms(m, this) for m in members) + ")")
        if SH.path in keys:
            path = self._path(shape)
            for value in self._values(shape, SH.hasValue):
                parts.append(f"EXISTS {{ {this} {path} {_term(value)} }}")
            for count in self._values(shape, SH.minCount):
                if count != Literal(1):
                    raise UnsupportedShape("only sh:minCount 1 inside logical constraints")
                parts.append(f"EXISTS {{ {this} {path} ?any }}")
            for count in self._values(shape, SH.maxCount):
                if count != Literal(0):
                    raise UnsupportedShape("only sh:maxCount 0 inside logical constraints")
                parts.append(f"NOT EXISTS {{ {this} {path} ?any }}")
            if keys - {SH.path, SH.hasValue, SH.minCount, SH.maxCount}:
                raise UnsupportedShape(f"unsupported keys in {shape}: {keys}")
        elif keys - {SH["not"], SH["and"], SH["or"]}:
            raise UnsupportedShape(f"unsupported keys in {shape}: {keys}")
        if not parts:
            raise UnsupportedShape(f"empty logical shape {shape}")
        return " && ".join(parts)

    def _list(self, head) -> list:
        members = list(Collection(self.g, head))
        if not members:
            raise UnsupportedShape("an empty list in a logical constraint")
        return members

    def _property(self, node_shape, target: str, prop) -> None:
        keys = set(self.g.predicates(prop, None))
        unknown = keys - KNOWN_PROPERTY_KEYS
        if unknown:
            raise UnsupportedShape(f"property shape {prop} uses {unknown}")
        if self._deactivated(prop):
            return
        path = self._path(prop)
        message = str(self.g.value(prop, SH.message) or "is invalid")
        focus = f"{INSTANCE.replace('?class', target)} ."
        for value in self._values(prop, SH.minCount):
            n = self._count(value)
            if n == 1:
                self._row("minCount1", prop, message, target, path)
            elif n > 1:
                self._add(
                    prop,
                    message,
                    f"{focus} {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?n) WHERE {{ {focus} "
                    f"OPTIONAL {{ ?this {path} ?v }} }} GROUP BY ?this }} FILTER(?n < {n})",
                )
        for value in self._values(prop, SH.maxCount):
            n = self._count(value)
            if n == 1:  # two distinct values are one too many
                self._row("maxCount1", prop, message, target, path)
            else:
                self._add(
                    prop,
                    message,
                    f"{focus} {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?n) WHERE {{ {focus} "
                    f"?this {path} ?v }} GROUP BY ?this }} FILTER(?n > {n})",
                )
        for datatype in self._values(prop, SH.datatype):
            if datatype not in KNOWN_DATATYPES:
                raise UnsupportedShape(f"sh:datatype {datatype}: well-formedness is not compiled for it")
            self._row("datatype", prop, message, target, path, _term(datatype))
        for pattern in self._values(prop, SH.pattern):
            self._check_regex(str(pattern))
            self._row("pattern", prop, message, target, path, f'"{_escape(str(pattern))}"')
        for head in self._values(prop, SH["in"]):
            key = self._row("in", prop, message, target, path)
            self.members += [f'("{key}" {_term(m)})' for m in Collection(self.g, head)]
        for kind in self._values(prop, SH.nodeKind):
            if kind not in (SH.IRI, SH.Literal, SH.BlankNode):
                raise UnsupportedShape(f"sh:nodeKind {kind}")
            self._row("nodeKind", prop, message, target, path, _term(kind))
        for bound in self._values(prop, SH.minInclusive):
            if not isinstance(bound, Literal):
                raise UnsupportedShape(f"sh:minInclusive {bound} is not a literal")
            self._row("minInclusive", prop, message, target, path, _term(bound))
        for other in self._values(prop, SH.lessThanOrEquals):
            if not isinstance(other, URIRef):
                raise UnsupportedShape(f"sh:lessThanOrEquals {other} is not an IRI")
            self._row("lessThanOrEquals", prop, message, target, path, _term(other))
        for required in self._values(prop, SH.hasValue):
            self._row("hasValue", prop, message, target, path, _term(required))
        for inner in self._values(prop, SH["not"]):
            inner_keys = set(self.g.predicates(inner, None))
            forbidden = self._values(inner, SH.hasValue)
            if inner_keys != {SH.hasValue} or len(forbidden) != 1:
                raise UnsupportedShape("sh:not on a property shape: only [ sh:hasValue X ]")
            self._row("notHasValue", prop, message, target, path, _term(forbidden[0]))

    @staticmethod
    def _count(value) -> int:
        if not isinstance(value, Literal) or not isinstance(value.toPython(), int) or value.toPython() < 0:
            raise UnsupportedShape(f"a count that is not a non-negative integer: {value!r}")
        return value.toPython()

    @staticmethod
    def _check_regex(pattern: str) -> None:
        """A pattern both engines read, or a refusal: Python's re (pySHACL's) and Oxigraph's REGEX must both
        accept it (an invalid regex made every REGEX an error, and so flagged nothing)."""
        import pyoxigraph as ox

        try:
            re.compile(pattern)
            valid = bool(ox.Store().query(f'ASK {{ BIND(REGEX("", "{_escape(pattern)}") AS ?x) FILTER(BOUND(?x)) }}'))
        except (re.error, SyntaxError) as exc:
            raise UnsupportedShape(f"sh:pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        if not valid:
            raise UnsupportedShape(f"sh:pattern {pattern!r} is not a regular expression Oxigraph accepts")

    def _deactivated(self, shape) -> bool:
        values = self._values(shape, SH.deactivated)
        if any(v not in (Literal(True), Literal(False)) for v in values):
            raise UnsupportedShape(f"sh:deactivated of {shape} is not a boolean")
        return Literal(True) in values

    def _sparql(self, node_shape, target: str, constraint) -> None:
        """A SHACL-SPARQL constraint, embedded as one branch: exact only for a SELECT that projects $this (and
        ?value) and has no solution modifiers, pre-bound variables other than $this, or names the compiler
        uses; anything else is refused (SHACL 5.3), as is a WHERE that does not parse once embedded."""
        keys = set(self.g.predicates(constraint, None)) - {RDF.type, SH.select, SH.message, SH.prefixes}
        if keys:
            raise UnsupportedShape(f"SPARQL constraint of {node_shape} uses {keys}")
        select = str(self.g.value(constraint, SH.select))
        message = str(self.g.value(constraint, SH.message) or self.g.value(node_shape, SH.message) or "is invalid")
        prefixes = []
        for declared in self.g.objects(self.g.value(constraint, SH.prefixes), SH.declare):
            prefixes.append((str(self.g.value(declared, SH.prefix)), str(self.g.value(declared, SH.namespace))))
        if re.search(r"\$(?!this\b)\w", select):
            raise UnsupportedShape(f"SPARQL constraint of {node_shape}: only $this may be pre-bound")
        body = select.replace("$this", "?this")
        head = re.match(r"\s*SELECT\s+(?:DISTINCT\s+)?\?this(\s+\?value)?\s+WHERE\s*\{", body, re.IGNORECASE)
        if head is None or body[body.rindex("}") + 1 :].strip():
            raise UnsupportedShape(f"SPARQL constraint of {node_shape}: only SELECT $this [?value] WHERE {{ ... }}")
        where = body[head.end() : body.rindex("}")]
        if re.search(r"[?$](check|class|path)\b", where) or (head.group(1) is None and "?value" in where):
            raise UnsupportedShape(f"SPARQL constraint of {node_shape} uses a variable the compiler reserves")
        for literal in re.findall(r'"[^"]*"|\'[^\']*\'', where):
            if any(f"{prefix}:" in literal for prefix, _ in prefixes):
                raise UnsupportedShape(f"SPARQL constraint of {node_shape}: a prefixed name inside a string")
        for prefix, namespace in prefixes:  # expand the declared prefixes, since the WHERE is embedded
            where = re.sub(rf"\b{prefix}:([A-Za-z0-9_-]+)", rf"<{namespace}\1>", where)
        branch = f"{INSTANCE.replace('?class', target)} . {where}"
        try:
            import pyoxigraph as ox

            ox.Store().query(f"{PREFIXES}SELECT * WHERE {{ {branch} }}")
        except SyntaxError as exc:
            raise UnsupportedShape(f"SPARQL constraint of {node_shape} does not compile: {exc}") from exc
        self._add(node_shape, message, branch)

    def shapes(self) -> list:
        """Every shape of the graph that has a target, or is declared a shape (SHACL 2.1)."""
        found = set()
        for key in (SH.targetClass, *OTHER_TARGETS):
            found.update(self.g.subjects(key, None))
        for kind in SHAPE_TYPES:
            found.update(self.g.subjects(RDF.type, kind))
        return sorted(found, key=lambda s: s.n3())

    def compile(self) -> list[str]:
        """The branches of every shape compiled; a shape the compiler cannot check exactly is left out whole and
        named in `refused` (with the reason), for the reference engine to check."""
        for shape in self.shapes():
            snapshot = self._snapshot()
            try:
                self._node_shape(shape)
            except UnsupportedShape as exc:
                self._restore(snapshot)
                self.refused[shape] = str(exc)
        return self._tables() + self.branches

    def _node_shape(self, node_shape) -> None:
        if any(True for key in OTHER_TARGETS if (node_shape, key, None) in self.g):
            raise UnsupportedShape(f"{node_shape}: only sh:targetClass targets are compiled")
        targets = self._values(node_shape, SH.targetClass)
        if any((node_shape, RDF.type, kind) in self.g for kind in IMPLICIT):
            targets.append(node_shape)  # SHACL 2.1.3.3: a shape that is also a class targets its instances
        if not targets:
            if (node_shape, SH.path, None) in self.g and (node_shape, RDF.type, SH.PropertyShape) in self.g:
                return  # a property shape, checked where a node shape names it
            if (node_shape, RDF.type, SH.NodeShape) in self.g:
                return  # no target: it validates nothing unless another shape refers to it (which is refused)
        unknown = set(self.g.predicates(node_shape, None)) - KNOWN_NODE_KEYS
        if unknown:
            raise UnsupportedShape(f"node shape {node_shape} uses {unknown}")
        if self._deactivated(node_shape):
            return
        message = str(self.g.value(node_shape, SH.message) or "is invalid")
        for target_class in targets:
            if not isinstance(target_class, URIRef):
                raise UnsupportedShape(f"sh:targetClass {target_class} is not an IRI")
            target = _term(target_class)
            focus = f"{INSTANCE.replace('?class', target)} ."
            for prop in self._values(node_shape, SH.property):
                self._property(node_shape, target, prop)
            condition = [
                self._conforms_key(key, obj)
                for key in (SH["or"], SH["not"], SH["and"])
                for obj in self._values(node_shape, key)
            ]
            if condition:  # the value node of a node shape is the focus node itself (SHACL 2.3.2)
                self._add(node_shape, message, f"{focus} FILTER(!({' && '.join(condition)})) BIND(?this AS ?value)")
            for constraint in self._values(node_shape, SH.sparql):
                self._sparql(node_shape, target, constraint)

    def _conforms_key(self, key, obj) -> str:
        if key == SH["not"]:
            return f"!({self._conforms(obj)})"
        members = self._list(obj)
        joiner = " || " if key == SH["or"] else " && "
        return "(" + joiner.join(self._conforms(m) for m in members) + ")"


@dataclass
class CompiledShapes:
    """The shapes as SPARQL SELECTs (?check, ?this, ?value for each violation), and the checks their rows name."""

    checks: dict[str, Check]  # by key (the ?check of a row)
    queries: list[str]
    refused: dict = field(default_factory=dict)  # shape -> why it was not compiled (the reference checks it)
    # The same queries with the focus nodes found by rdf:type alone: exact on a data graph that holds no
    # rdfs:subClassOf triple (every JSON patient), and about 0.5 ms cheaper on one patient (1.62-1.90 against
    # 2.15-2.36 ms for the five queries, interleaved, two runs).
    direct: list[str] = field(default_factory=list)

    def for_data(self, has_subclasses: bool) -> list[str]:
        """The queries to run on a data graph, by whether it holds rdfs:subClassOf triples."""
        return self.queries if has_subclasses else self.direct


def compile_shapes(shapes: Graph, per_query: int = 4, strict: bool = False) -> CompiledShapes:
    """The shapes as SELECTs, each a UNION of `per_query` branches (a branch is a table of constraints of one
    kind, or one constraint of its own).

    Measured on Oxigraph 0.5 for the 72 constraints of the patient shapes (15 branches), 1 thread, the median
    over the vignettes: 1 branch a query 1.89 ms, 2 1.62 ms, 4 1.50 ms, 8 1.60 ms, all in one query 1.88 ms.
    One branch per constraint, 8 to a query (9 queries, the layout before the tables): 3.0-3.2 ms, in the same
    runs.

    A shape the compiler cannot check exactly is left out whole and named in `refused`, for the caller to check
    with the reference engine (strict: raise UnsupportedShape instead)."""
    compiler = ShapeCompiler(shapes)
    branches = compiler.compile()
    if strict and compiler.refused:
        raise UnsupportedShape("; ".join(f"{shape}: {why}" for shape, why in compiler.refused.items()))
    compiled = CompiledShapes(
        {check.key: check for check in compiler.checks},
        [
            f"{PREFIXES}SELECT ?check ?this ?value WHERE {{ {' UNION '.join(branches[start : start + per_query])} }}"
            for start in range(0, len(branches), per_query)
        ],
        dict(compiler.refused),
    )
    compiled.direct = [query.replace(INSTANCE_PATH, RDF_TYPE) for query in compiled.queries]
    return compiled
