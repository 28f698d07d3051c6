"""The documented patient schema is generated from the shapes: every sh:in member's code is in it, at its field."""

from __future__ import annotations

from rdflib import RDF, Graph, Literal, Namespace
from rdflib.collection import Collection

from kg_service.graph.shapes import load_shapes
from kg_service.http.openapi import _object_schema, patient_document_schema
from kg_service.patient.json_document import DOCUMENT_OBJECTS

SH = Namespace("http://www.w3.org/ns/shacl#")
MBC = Namespace("https://w3id.org/mbc-kg/ontology#")


def shape_enums(graph: Graph) -> dict[tuple[str, str], set[str]]:
    """(target class, field) -> the codes of every sh:in member, walked with rdflib, not the query."""
    shapes = load_shapes("patient-shapes.ttl")
    out: dict[tuple[str, str], set[str]] = {}
    for shape, target in shapes.subject_objects(SH.targetClass):
        for prop in shapes.objects(shape, SH.property):
            name = shapes.value(prop, SH.name)
            members = shapes.value(prop, SH["in"])
            if name is None or members is None:
                continue
            codes = {str(graph.value(m, MBC.code)) for m in Collection(shapes, members)}
            out.setdefault((str(target), str(name)), set()).update(codes)
    return out


def test_every_sh_in_code_is_in_the_schema(graph):
    schema = patient_document_schema(graph)
    by_class = {str(target): location for location, target in DOCUMENT_OBJECTS.items()}
    expected = shape_enums(graph)
    assert expected, "the patient shapes have sh:in lists"
    for (target, name), codes in expected.items():
        assert "None" not in codes, f"a member of {name}'s sh:in has no mbc:code"
        prop = _object_schema(schema, by_class[target])["properties"][name]
        assert set(prop["enum"]) == codes, name


def test_a_value_added_in_turtle_reaches_the_schema(graph):
    """Adding a member to a value set and to its shape's sh:in list (Turtle only) documents it."""
    extended = Graph()
    for triple in graph:
        extended.add(triple)
    extended.add((MBC.Intersex, RDF.type, MBC.Sex))
    extended.add((MBC.Intersex, MBC.code, Literal("intersex")))
    shapes = Graph()
    for triple in load_shapes("patient-shapes.ttl"):
        shapes.add(triple)
    for shape in shapes.subjects(SH.targetClass, MBC.Patient):
        for prop in shapes.objects(shape, SH.property):
            if str(shapes.value(prop, SH.name)) == "sex":
                Collection(shapes, shapes.value(prop, SH["in"])).append(MBC.Intersex)
    schema = patient_document_schema(extended, shapes)
    assert "intersex" in schema["properties"]["sex"]["enum"]


def test_the_served_description_carries_the_generated_schema(reasoner):
    from fastapi.testclient import TestClient

    from kg_service.api import app
    from kg_service.http import state

    original, state.get_reasoner = state.get_reasoner, lambda: reasoner
    app.openapi_schema = None
    try:
        with TestClient(app) as client:
            document = client.get("/openapi.json").json()
    finally:
        state.get_reasoner = original
    schema = document["components"]["schemas"]["PatientDocument"]
    assert schema["properties"]["her2"]["properties"]["ihc"]["enum"] == ["0", "1+", "2+", "3+"]
    body = document["paths"]["/v1/recommendations"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PatientDocument"}
