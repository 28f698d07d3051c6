"""The OpenAPI description's shared parts: examples, the error schema, and the patient document's schema.

The patient document's schema is generated at start-up: its structure is the contract's
(`kg_service.patient.json_document.DOCUMENT_OBJECTS`), and every closed field's `enum` is read from the
patient shapes' `sh:in` lists and the graph's value-set codes (`queries/service/patient-field-values.rq`), so a
value added in Turtle is documented (and sent by the fuzzer) without a code change.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from rdflib import Graph

from kg_service.graph import queries as query_catalog
from kg_service.graph.shapes import load_shapes
from kg_service.patient.json_document import DOCUMENT_OBJECTS

EXAMPLES = json.loads((Path(__file__).parent / "openapi_examples.json").read_text(encoding="utf-8"))
EXAMPLE_PATIENT = EXAMPLES["patient"]
# a FHIR R4 Bundle of a relapsed patient (tests/fixtures/fhir/relapsed-esr1-plasma.bundle.json)
EXAMPLE_BUNDLE = json.loads((Path(__file__).parent / "openapi_fhir_example.json").read_text(encoding="utf-8"))
EXAMPLE_ANSWER = EXAMPLES["answer"]
EXAMPLE_INVALID = EXAMPLES["invalid"]
PATIENT_SCHEMA_NAME = "PatientDocument"
PATIENT_REF = {"$ref": f"#/components/schemas/{PATIENT_SCHEMA_NAME}"}

DATE = {"type": "string", "format": "date"}
# The document's structure (field names, nesting, JSON types); the enums are filled from the shapes.
PATIENT_SKELETON = {
    "type": "object",
    "description": "The patient document of the app contract (docs/patient-api-contract.md).",
    "required": ["id", "stage", "er", "her2"],
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "sex": {},
        "menopausal_status": {},
        "stage": {},
        "metastatic_diagnosis_date": DATE,
        "er": {},
        "pr": {},
        "her2": {
            "type": "object",
            "required": ["ihc"],
            "properties": {"ihc": {}, "membrane_staining": {"type": "boolean"}, "ish": {}},
        },
        "biomarkers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["gene", "result"],
                "properties": {
                    "gene": {"type": "string"},
                    "result": {},
                    "variant": {"type": "string"},
                    "origin": {},
                    "specimen": {},
                    "date": DATE,
                },
            },
        },
        "therapies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["setting", "drugs"],
                "properties": {
                    "setting": {},
                    "line": {"type": "integer", "minimum": 1},
                    "drugs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "start_date": DATE,
                    "end_date": {"anyOf": [DATE, {"type": "null"}]},
                    "outcome": {},
                },
            },
        },
    },
}


def _object_schema(schema: dict, location: str) -> dict:
    """The schema of the JSON object at `location` ("" for the document, "her2", "biomarkers[]", ...)."""
    if not location:
        return schema
    key = location.removesuffix("[]")
    child = schema["properties"][key]
    return child["items"] if location.endswith("[]") else child


def patient_document_schema(graph: Graph, shapes: Graph | None = None) -> dict:
    """The patient document's JSON schema, its enums read from the patient shapes and the value-set codes."""
    shapes = shapes if shapes is not None else load_shapes("patient-shapes.ttl")
    data = Graph()
    for triple in shapes:
        data.add(triple)
    for triple in graph:
        data.add(triple)
    enums: dict[tuple[str, str], list[str]] = {}
    for target, name, code in data.query(query_catalog.load("service/patient-field-values")):
        enums.setdefault((str(target), str(name)), [])
        if str(code) not in enums[(str(target), str(name))]:
            enums[(str(target), str(name))].append(str(code))
    schema = copy.deepcopy(PATIENT_SKELETON)
    for location, target in DOCUMENT_OBJECTS.items():
        properties = _object_schema(schema, location)["properties"]
        for name, prop in properties.items():
            codes = enums.get((str(target), name))
            if codes:
                prop.clear()
                prop["enum"] = sorted(codes)
            elif prop == {}:
                raise ValueError(f"no sh:in list in the patient shapes for the closed field {location}.{name}")
    return schema


def patient_body() -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PATIENT_REF, "example": EXAMPLE_PATIENT},
                "text/turtle": {"schema": {"type": "string"}},
                "application/ld+json": {"schema": {"type": "object"}},
                "application/fhir+json": {"schema": {"type": "object"}, "example": EXAMPLE_BUNDLE},
            },
        }
    }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "violations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERROR_RESPONSES = {
    code: {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for code, text in (
        (400, "The body is not JSON or RDF"),
        (413, "The body is larger than the limit"),
        (415, "Unsupported content type"),
        (422, "The patient is invalid or outside the pathway; every violation is listed"),
    )
}
MEDIA_EXAMPLES = EXAMPLES["media"]
CATALOG_EXAMPLES = EXAMPLES["catalog"]


def schema_for(media: str) -> dict:
    content: dict = {"schema": {}} if "json" in media else {"schema": {"type": "string"}}
    if media in MEDIA_EXAMPLES:
        content["example"] = MEDIA_EXAMPLES[media]
    return content
