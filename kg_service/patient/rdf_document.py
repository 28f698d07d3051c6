"""A patient sent directly as RDF (Turtle, JSON-LD, N-Triples) in the project's vocabulary.

JSON-LD is parsed with a document loader that refuses every remote document (`jsonld_loader`): a context or
`@import` that names a URL, anywhere in the document, is refused with a 400, and nothing is ever fetched.
Relative IRIs resolve against a fixed base (never the server's working directory), and an IRI that is not a
valid RFC 3987 IRI is refused with a 400 naming it.
"""

from __future__ import annotations

import datetime as dt

from rdflib import RDF, XSD, Graph, Literal, URIRef

from kg_service.core.errors import BadRequest, Violation
from kg_service.core.namespaces import MBC
from kg_service.graph.vocabulary import Vocabulary
from kg_service.patient.jsonld_loader import RemoteDocumentRefused
from kg_service.patient.limits import LIMITS
from kg_service.store.oxigraph import to_ox

BASE = "https://w3id.org/mbc-kg/input/"  # hierarchical, as the Turtle parser requires
DATE_PROPERTIES = (MBC.metastaticDiagnosisDate, MBC.resultDate, MBC.startDate, MBC.endDate)


def limit_violations(graph: Graph) -> list[Violation]:
    """The limits of kg_service.patient.limits, on a patient sent as RDF: its triples, its lines and results,
    the drugs of a line and the length of its texts."""
    if len(graph) > LIMITS.rdf_triples:
        return [Violation("(document)", f"has {len(graph):,} triples; at most {LIMITS.rdf_triples:,} are accepted")]
    found = []
    for prop, limit, name in (
        (MBC.hasTherapyLine, LIMITS.therapies, "therapy lines"),
        (MBC.hasBiomarkerResult, LIMITS.biomarkers, "biomarker results"),
        (MBC.includesDrug, LIMITS.drugs, "drugs"),
    ):
        counts: dict = {}
        for subject in graph.subjects(prop, None):
            counts[subject] = counts.get(subject, 0) + 1
        for subject, count in counts.items():
            if count > limit:
                found.append(Violation(f"{subject}", f"has {count:,} {name}; at most {limit} are accepted"))
    for subject, predicate, value in graph:
        if isinstance(value, Literal) and len(value) > LIMITS.string_length:
            local = str(predicate).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            found.append(
                Violation(
                    f"{subject}.{local}",
                    f"is {len(value):,} characters long; at most {LIMITS.string_length} are accepted",
                )
            )
    return sorted(set(found), key=lambda v: (v.field, v.message))


def _refuse_invalid_terms(graph: Graph) -> None:
    """rdflib keeps terms a store must not hold: IRIs it cannot serialise (a control character, a quote), a
    language string without a language tag ("abc"^^rdf:langString). to_ox, the conversion into the store, is
    the check (its conversions are cached for loading the patient); a term it refuses is named here."""
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef | Literal):
                try:
                    to_ox(term)
                except ValueError as exc:
                    kind = "IRI" if isinstance(term, URIRef) else "literal"
                    raise BadRequest(f"the body contains an invalid {kind} {str(term)!r}: {exc}") from exc


def _ill_typed_as_strings(graph: Graph) -> list[Violation]:
    """A violation for each literal whose text is not of its datatype ("2026-13-45"^^xsd:date, "p1"^^xsd:integer),
    and the literal made a plain string, as the same text in a JSON document is: the shapes then judge a value
    both engines can compare (Oxigraph's DATATYPE() still said xsd:date for it, and pySHACL failed on comparing
    it, a 500). The violation is needed as well: as a string, it would pass a shape that asks for a string."""
    violations = []
    for subject, predicate, value in list(graph):
        if isinstance(value, Literal) and value.ill_typed:
            graph.remove((subject, predicate, value))
            graph.add((subject, predicate, Literal(str(value))))
            local = str(predicate).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            datatype = graph.namespace_manager.normalizeUri(value.datatype)
            violations.append(
                Violation(f"{subject}.{local}", f"is not a valid {datatype} literal (got {str(value)!r})")
            )
    return violations


def parse_rdf_patient(
    text: str, rdf_format: str, vocab: Vocabulary, today: dt.date | None = None
) -> tuple[Graph, str, list[Violation]]:
    today = today or dt.datetime.now(dt.UTC).date()
    graph = Graph()
    try:
        graph.parse(data=text, format=rdf_format, publicID=BASE)
    except RemoteDocumentRefused as exc:
        raise BadRequest(str(exc)) from exc
    except Exception as exc:  # rdflib raises many parser-specific types
        raise BadRequest(f"the body is not valid {rdf_format}: {exc}") from exc
    past = limit_violations(graph)
    if past:  # refused before any other work on it: the shapes and the derivation never see it
        return Graph(), "", past
    _refuse_invalid_terms(graph)
    ill_typed = _ill_typed_as_strings(graph)
    patients = list(graph.subjects(RDF.type, MBC.Patient))
    if len(patients) != 1:
        return (
            graph,
            "",
            [Violation("(document)", f"the RDF must describe exactly one mbc:Patient (found {len(patients)})")]
            + ill_typed,
        )
    patient = patients[0]
    reference = Literal(today, datatype=XSD.date)
    for prop in DATE_PROPERTIES:
        for subject in set(graph.subjects(prop, None)):
            graph.add((subject, MBC.referenceDate, reference))
    graph.add((patient, MBC.referenceDate, reference))
    for node in [patient, *graph.objects(patient, None)]:
        if not isinstance(node, Literal) and (node, MBC.inputField, None) not in graph:
            graph.add((node, MBC.inputField, Literal(str(node))))
    return graph, str(graph.value(patient, MBC.patientId) or ""), ill_typed
