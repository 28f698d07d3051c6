"""/graph and /ontology in every RDF syntax parse to the same graph, stamped with the version;
`mbc-kg export` writes the same bytes; the OWL file loads in an OWL tool (owlready2)."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, Graph
from rdflib.compare import isomorphic

from kg_service.cli import main as cli_main
from kg_service.http import state

from .conftest import serving

FORMATS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


@pytest.fixture(scope="module")
def client(reasoner):
    with serving(reasoner, caches=[state.get_exporter, state.get_catalog], raise_server_exceptions=True) as c:
        yield c


@pytest.mark.parametrize("which", ["graph", "ontology"])
def test_every_format_parses_to_the_same_graph(client, which):
    graphs = {}
    for media_type, rdf_format in FORMATS.items():
        response = client.get(f"/{which}", headers={"accept": media_type})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
        assert response.headers["x-knowledge-graph-version"]
        graphs[media_type] = Graph().parse(data=response.content, format=rdf_format)
    reference = graphs.pop("text/turtle")
    assert len(reference) > (3000 if which == "graph" else 500)
    for media_type, graph in graphs.items():
        assert isomorphic(reference, graph), media_type


def test_the_download_carries_the_version_iri(client, graph):
    downloaded = Graph().parse(data=client.get("/graph").content, format="turtle")
    header = next(downloaded.subjects(RDF.type, OWL.Ontology))
    assert downloaded.value(header, OWL.versionIRI) == graph.value(header, OWL.versionIRI)


def test_graph_download_equals_the_loaded_graph(client, graph):
    downloaded = Graph().parse(
        data=client.get("/graph", headers={"accept": "application/n-triples"}).content, format="nt"
    )
    assert isomorphic(downloaded, graph)


def test_unacceptable_format_is_406(client):
    assert client.get("/graph", headers={"accept": "image/png"}).status_code == 406


def test_export_command_writes_the_same_graph(tmp_path, client):
    out = tmp_path / "graph.jsonld"
    assert cli_main(["export", "--what", "graph", "--format", "jsonld", "--out", str(out)]) == 0
    exported = Graph().parse(out, format="json-ld")
    served = Graph().parse(
        data=client.get("/graph", headers={"accept": "application/ld+json"}).content, format="json-ld"
    )
    assert isomorphic(exported, served)


def test_the_owl_file_loads_in_an_owl_tool(tmp_path, client):
    import owlready2

    path = tmp_path / "mbc.owl"
    path.write_bytes(client.get("/ontology", headers={"accept": "application/rdf+xml"}).content)
    onto = owlready2.World().get_ontology(path.as_uri()).load()
    names = {c.name for c in onto.classes()}
    assert {"Drug", "Regimen", "PathwayStep", "Criterion", "CDK46Inhibitor", "Patient"} <= names
