"""The pathway's picture: well-formed SVG with one node per step and one edge per link of the graph (read here
from the graph's triples, not through the drawing's query), statuses, lines and her way as classes and
attributes, in words as well as colour; a branch added in Turtle is drawn; the CLI and the HTTP surface."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from rdflib import RDF, RDFS, URIRef

from kg_service.cli import main
from kg_service.core.namespaces import MBC
from kg_service.drawing import pathway as drawing
from kg_service.drawing.pathway import STATUS_ORDER, STATUS_STYLE, DrawingUnavailable, PathwayDrawer, titles
from kg_service.graph.loader import load_graph
from kg_service.http import drawing as drawing_routes
from kg_service.service import Reasoner

from .conftest import ROOT, TESTS, TODAY, serving

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"
EXAMPLE = ROOT / "examples" / "patient-esr1-after-cdk46.json"
EXTENSION = TESTS / "fixtures" / "extension" / "new-branch.ttl"


def nodes(svg: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed, or this raises
    assert root.tag == f"{SVG}svg"
    return {g.get("data-step"): g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()}


def edges(svg: bytes) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if "edge" in g.get("class", "").split()]


def words(element: ET.Element) -> str:
    return " ".join(t.text or "" for t in element.iter(f"{SVG}text"))


def graph_steps_and_links(graph) -> tuple[set[str], set[tuple[str, str, str]]]:
    steps = {str(s) for s in graph.subjects(RDF.type, MBC.PathwayStep)}
    links = {
        (str(e), str(graph.value(e, MBC.edgeSource)), str(graph.value(e, MBC.edgeTarget)))
        for e in graph.subjects(RDF.type, MBC.PathwayEdge)
    }
    return steps, links


def best_status(answer: dict) -> dict[str, str]:
    best: dict[str, str] = {}
    for option in answer["options"]:
        step = option["step"]["id"]
        if step not in best or STATUS_ORDER.index(option["status"]) < STATUS_ORDER.index(best[step]):
            best[step] = option["status"]
    return best


@pytest.fixture(scope="module")
def drawer(reasoner):
    return PathwayDrawer(reasoner.store)


@pytest.fixture(scope="module")
def answer(reasoner):
    return reasoner.recommend(EXAMPLE.read_bytes(), "application/json", today=TODAY)


def test_bare_pathway_has_one_node_per_step_and_one_edge_per_link(drawer, graph):
    svg = drawer.draw(None, "svg", *titles(None, "v"))
    steps, links = graph_steps_and_links(graph)
    assert len(steps) == 18 and len(links) == 34  # the seed pathway
    drawn = nodes(svg)
    assert set(drawn) == steps and len(drawn) == len(steps)
    assert len(edges(svg)) == len(links)
    assert {(g.get("data-link"), g.get("data-source"), g.get("data-target")) for g in edges(svg)} == links
    for step, node in drawn.items():
        label = str(graph.value(URIRef(step), RDFS.label))
        assert node.get("data-label") == label and node.find(f"{SVG}title").text == label
        treatment = MBC.TreatmentStep in set(graph.objects(URIRef(step), RDF.type))
        assert node.get("data-kind") == ("treatment" if treatment else "decision")
        assert ("treatment" if treatment else "decision") in node.get("class").split()
        assert node.get("data-status") is None  # no patient, no status
    entry = [s for s, n in drawn.items() if "entry" in n.get("class").split()]
    assert entry == [str(next(graph.objects(None, MBC.entryStep)))]
    assert not [g for g in edges(svg) if "lit" in g.get("class").split()]


def test_each_treatment_step_carries_her_best_status_in_class_attribute_colour_and_words(drawer, answer):
    svg = drawer.draw(answer, "svg", *titles(answer, "v"))
    drawn = nodes(svg)
    expected = best_status(answer)
    assert {s for s, n in drawn.items() if n.get("data-kind") == "treatment"} == set(expected)
    for step, status in expected.items():
        node = drawn[step]
        fill, border, _style, mark, text = STATUS_STYLE[status]
        assert node.get("data-status") == status
        assert f"status-{status.replace('_', '-')}" in node.get("class").split()
        assert node.find(f"{SVG}polygon").get("fill") == fill
        assert f"{mark} {text}" in words(node)  # not by colour alone
        assert node.get("tabindex") == "0" and node.get("role") == "button" and text in node.get("aria-label")
    assert "recommended" in expected.values()
    legend = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    for status in STATUS_ORDER:
        assert STATUS_STYLE[status][4] in legend
    assert "not medical advice" in legend and answer["knowledge_graph_version"] in legend


def test_her_lines_are_marked_and_her_way_is_lit_from_the_entry_to_the_next_steps(drawer, answer, graph):
    svg = drawer.draw(answer)
    drawn = nodes(svg)
    position = answer["assessment"]["pathway_position"]
    assert position
    by_label = {n.get("data-label"): s for s, n in drawn.items()}
    for place in position:
        node = drawn[by_label[place["step"]]]
        assert f"line-{place['line']}" in node.get("class").split()
        assert str(place["line"]) in node.get("data-lines").split()
        assert f"LINE {place['line']}" in words(node)
    lit = [(g.get("data-source"), g.get("data-target")) for g in edges(svg) if "lit" in g.get("class").split()]
    entry = str(next(graph.objects(None, MBC.entryStep)))
    reached = {entry}
    for _ in lit:  # every lit link hangs from the entry through other lit links
        reached |= {target for source, target in lit if source in reached}
    assert {target for _, target in lit} <= reached
    for place in position:
        assert by_label[place["step"]] in reached
    for option in answer["options"]:
        if option["status"] == "recommended":
            assert option["step"]["id"] in reached
            assert "next" in drawn[option["step"]["id"]].get("class").split()
    ahead = {s for s, n in drawn.items() if "next" in n.get("class").split()}
    assert ahead <= reached
    closed = {s for s, status in best_status(answer).items() if status == "not_eligible"}
    assert not ahead & closed  # her way does not lead into a step closed for her


def test_with_no_line_her_way_starts_at_the_entry(drawer, reasoner):
    patient = json.loads((ROOT / "examples" / "patient-premenopausal-de-novo.json").read_text(encoding="utf-8"))
    answer = reasoner.recommend(patient, today=TODAY)
    svg = drawer.draw(answer)
    entry = next(s for s, n in nodes(svg).items() if "entry" in n.get("class").split())
    lit = [(g.get("data-source"), g.get("data-target")) for g in edges(svg) if "lit" in g.get("class").split()]
    assert lit and entry in {source for source, _ in lit}
    recommended = {o["step"]["id"] for o in answer["options"] if o["status"] == "recommended"}
    assert recommended and recommended <= {target for _, target in lit}
    assert not [n for n in nodes(svg).values() if n.get("data-lines")]


def test_a_branch_added_in_turtle_is_drawn_with_no_code_change():
    extended = Reasoner(graph=load_graph(extra_files=[EXTENSION]), sparql_endpoint="", threads=1)
    svg = PathwayDrawer(extended.store).draw()
    steps, links = graph_steps_and_links(extended.graph)
    assert len(steps) == 20 and len(links) == 36
    drawn = nodes(svg)
    assert set(drawn) == steps and len(edges(svg)) == 36
    assert "Testinib" in {n.get("data-label") for n in drawn.values()}


def test_labels_with_markup_characters_are_escaped(drawer):
    steps = dict(drawer.pathway.steps)
    entry = steps[drawer.pathway.entry]
    steps[entry.iri] = drawing.Step(entry.iri, 'A <b> & "C" ≤ 12', entry.treatment, entry.order, True)
    odd = drawing.Pathway(steps, drawer.pathway.links, entry.iri, drawer.pathway.children, drawer.pathway.ids)
    svg = drawing.annotate(drawing.run_dot(drawing.to_dot(odd).source, "svg"), odd, None, "t")
    assert nodes(svg)[entry.iri].get("data-label") == 'A <b> & "C" ≤ 12'


def test_without_graphviz_the_drawing_refuses_in_words(drawer, monkeypatch):
    monkeypatch.setattr(drawing.shutil, "which", lambda name: None)
    with pytest.raises(DrawingUnavailable, match="Graphviz is not installed"):
        drawer.draw()


def test_png_is_a_png(drawer, answer):
    assert drawer.draw(answer, "png").startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="unknown picture format"):
        drawer.draw(answer, "gif")


def test_cli_draws_bare_and_for_a_patient(tmp_path, capsys):
    bare, mine, png = tmp_path / "bare.svg", tmp_path / "mine.svg", tmp_path / "mine.png"
    assert main(["draw", "--out", str(bare)]) == 0
    assert len(nodes(bare.read_bytes())) == 18
    assert main(["draw", str(EXAMPLE), "--out", str(mine)]) == 0
    assert any(n.get("data-status") == "recommended" for n in nodes(mine.read_bytes()).values())
    assert main(["draw", str(EXAMPLE), "--format", "png", "--out", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "stage": "metastatic"}), encoding="utf-8")
    assert main(["draw", str(bad), "--out", str(tmp_path / "no.svg")]) == 2
    assert "er:" in capsys.readouterr().err and not (tmp_path / "no.svg").exists()


@pytest.fixture(scope="module")
def client(reasoner):
    with serving(reasoner, caches=[drawing_routes.get_drawer, drawing_routes.bare_picture]) as test_client:
        yield test_client


def test_http_pathway_svg(client):
    bare = client.get("/v1/pathway.svg")
    assert bare.status_code == 200 and bare.headers["content-type"].startswith("image/svg+xml")
    assert bare.headers["x-knowledge-graph-version"] and len(nodes(bare.content)) == 18
    mine = client.post("/v1/pathway.svg", content=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    assert mine.status_code == 200 and any(n.get("data-status") for n in nodes(mine.content).values())
    turtle = client.post(
        "/v1/pathway.svg", content=EXAMPLE.with_suffix(".ttl").read_bytes(), headers={"Content-Type": "text/turtle"}
    )
    assert turtle.status_code == 200
    invalid = client.post("/v1/pathway.svg", json={"id": "x", "stage": "metastatic"})
    assert invalid.status_code == 422 and "er" in {v["field"] for v in invalid.json()["violations"]}
    garbage = client.post("/v1/pathway.svg", content=b"{no", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and garbage.json()["error"] == "bad_request"


def test_http_without_graphviz_is_a_503_in_the_error_shape(client, monkeypatch):
    monkeypatch.setattr(drawing.shutil, "which", lambda name: None)
    drawing_routes.bare_picture.cache_clear()
    response = client.post(
        "/v1/pathway.svg", content=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 503 and "Graphviz" in response.json()["message"]
    assert client.get("/v1/pathway.svg").status_code == 503
    monkeypatch.undo()
    drawing_routes.bare_picture.cache_clear()
    assert client.get("/v1/pathway.svg").status_code == 200


def test_page_and_offline_docs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "Not medical advice" in page.text
    for path in (
        "/ui/page.js",
        "/ui/page.css",
        "/docs-assets/swagger-ui-bundle.js",
        "/docs-assets/redoc.standalone.js",
    ):
        assert client.get(path).status_code == 200, path
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "/docs-assets/" in html and "cdn." not in html and "fonts.googleapis" not in html
    examples = client.get("/ui/examples").json()
    assert examples and all(client.get(e["url"]).status_code == 200 for e in examples)
    assert client.get("/ui/examples/..%2Fpyproject.toml").status_code == 404


def test_the_readmes_picture_is_the_graphs_pathway(graph):
    svg = (ROOT / "docs" / "pathway.svg").read_bytes()  # regenerate: mbc-kg draw --out docs/pathway.svg
    steps, links = graph_steps_and_links(graph)
    assert set(nodes(svg)) == steps
    assert {(g.get("data-link"), g.get("data-source"), g.get("data-target")) for g in edges(svg)} == links
