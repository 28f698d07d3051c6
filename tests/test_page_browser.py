"""The clinician's page in a real browser: Playwright (PyPI) driving Debian's Chromium (/usr/bin/chromium,
installed by .ci/run; Playwright's own browser download is never used). The app is served by uvicorn on a
free loopback port; every request the browser makes is recorded, and one to any other host fails the test
(it is also stopped before it leaves). Screenshots are kept in tests/artifacts/ (gitignored)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from kg_service.drawing.pathway import STATUS_STYLE
from kg_service.http.app import app

from .conftest import ROOT, TESTS

CHROMIUM = os.environ.get("MBC_KG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = TESTS / "artifacts"
EXAMPLE = "patient-esr1-after-cdk46.json"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).is_file() or shutil.which("dot") is None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests need {CHROMIUM} and Graphviz's dot (.ci/run installs both)", pytrace=False)
    pytest.skip(
        f"no Chromium at {CHROMIUM} or no Graphviz dot (apt-get install chromium graphviz)", allow_module_level=True
    )

if os.environ.get("CI"):
    from playwright import sync_api  # .ci/run installs it (the test extra): missing there is a failure
else:
    sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):  # start-up prepares the graph, the queries and the SPARQL workers
        if uv.started:
            break
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.1)
    assert uv.started, "the test server did not start within 60 s"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser_context():
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000}
        )
        yield context
        context.close()


@pytest.fixture
def page(browser_context, server):
    """A page whose every request is recorded; requests to any other host are stopped and fail the test."""
    origin = urlsplit(server).netloc
    seen: list[str] = []
    foreign: list[str] = []

    def guard(route):
        url = route.request.url
        seen.append(url)
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == origin:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    browser_context.route("**/*", guard)
    tab = browser_context.new_page()
    tab.set_default_timeout(120_000)  # a shared 2-core machine: waits end when the page is ready, not before
    tab.on("request", lambda request: seen.append(request.url))
    blocked: list[str] = []  # refused by the page's Content-Security-Policy: never sent
    tab.on(
        "requestfailed", lambda r: blocked.append(r.url) if r.failure in ("csp", "net::ERR_BLOCKED_BY_CSP") else None
    )
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    browser_context.unroute("**/*")
    outside = sorted(
        {
            u
            for u in seen
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != origin and u not in blocked
        }
    )
    assert not foreign and not outside, f"the page asked another host: {sorted(set(foreign) | set(outside))}"
    assert seen, "no request was recorded at all"
    assert not errors, f"the page's script failed: {errors}"


def answer_for(server: str, name: str) -> dict:
    body = (ROOT / "examples" / name).read_bytes()
    response = httpx.post(
        f"{server}/v1/recommendations", content=body, headers={"Content-Type": "application/json"}, timeout=120
    )
    assert response.status_code == 200, response.text
    return response.json()


def submit_example(page, server: str, name: str = EXAMPLE) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("#picture svg g.step")  # the bare pathway, before any patient
    page.select_option("#example", value=f"/ui/examples/{name}")
    page.wait_for_function("() => document.getElementById('document').value.length > 0")
    page.click("#submit")
    page.wait_for_selector("#assessment:not([hidden])")
    page.wait_for_selector("#picture svg g.step[data-status]")


def test_example_patient_recommended_steps_drawn_as_recommended(page, server):
    answer = answer_for(server, EXAMPLE)
    submit_example(page, server)
    expected = {o["step"]["id"] for o in answer["options"] if o["status"] == "recommended"}
    assert expected, "the example patient has recommended options"
    drawn = page.eval_on_selector_all(
        "#picture svg g.step.status-recommended",
        "nodes => nodes.map(n => [n.dataset.step, n.dataset.status, n.querySelector('polygon').getAttribute('fill'),"
        " n.textContent])",
    )
    assert {d[0] for d in drawn} == expected
    fill = STATUS_STYLE["recommended"][0]
    for step, status, drawn_fill, text in drawn:
        assert status == "recommended" and drawn_fill == fill, step
        assert "recommended" in text  # in words too, not by colour alone
    # no other step is drawn as recommended, and every treatment step carries a status
    statuses = page.eval_on_selector_all("#picture svg g.step.treatment", "ns => ns.map(n => n.dataset.status)")
    assert statuses and all(statuses)
    # the assessment at the top, with the graph version and the warning
    assert page.inner_text("#endocrine-sensitivity").startswith(answer["assessment"]["endocrine_sensitivity"])
    assert page.inner_text("#her2-category") == answer["assessment"]["her2_category"]
    assert page.inner_text("#graph-version") == answer["knowledge_graph_version"]
    assert "Not medical advice" in page.inner_text("header")
    # her line is marked at its step
    line_steps = page.eval_on_selector_all("#picture svg g.step.line-1", "ns => ns.map(n => n.dataset.label)")
    assert line_steps == [p["step"] for p in answer["assessment"]["pathway_position"] if p["line"] == 1]


def test_clicking_a_recommended_step_shows_its_reasons_and_trials(page, server):
    answer = answer_for(server, EXAMPLE)
    submit_example(page, server)
    step = next(o["step"] for o in answer["options"] if o["status"] == "recommended" and o["evidence"])
    page.click(f'#picture svg g.step[data-step="{step["id"]}"]')
    page.wait_for_selector("#details:not([hidden])")
    assert page.inner_text("#details-heading") == f"Step: {step['label']}"
    details = page.inner_text("#details-body")
    options = [o for o in answer["options"] if o["step"]["id"] == step["id"]]
    ncts = set()
    for option in options:
        assert option["regimen"]["label"] in details
        for reason in option["reasons"]:
            assert reason in details
        ncts |= {e["nct"] for e in option["evidence"] if e.get("nct")}
    assert ncts
    links = page.eval_on_selector_all("#details-body a.nct", "as => as.map(a => [a.textContent, a.href])")
    assert {text for text, _ in links} == ncts
    for text, href in links:
        assert href == f"https://clinicaltrials.gov/study/{text}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "clinician-page.png"), full_page=True)
    page.locator("#assessment").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "clinician-page-top.png"))
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "clinician-page-print.png"), full_page=True)
    page.emulate_media(media="screen")


def test_every_control_has_a_label_and_steps_have_spoken_names(page, server):
    page.goto(f"{server}/")
    page.wait_for_selector("#picture svg g.step")
    unlabelled = page.eval_on_selector_all(
        "input, select, textarea", "cs => cs.filter(c => !c.labels || c.labels.length === 0).map(c => c.id)"
    )
    assert unlabelled == []
    names = page.eval_on_selector_all(
        "#picture svg g.step.treatment", "ns => ns.map(n => n.getAttribute('aria-label'))"
    )
    assert names and all(names)
    assert page.get_attribute("html", "lang") == "en"


def test_a_step_opens_from_the_keyboard(page, server):
    submit_example(page, server)
    node = page.locator("#picture svg g.step.treatment").first
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#details:not([hidden])")
    assert page.inner_text("#details-heading") == f"Step: {node.get_attribute('data-label')}"


def test_a_bad_document_shows_the_fields_error_next_to_it(page, server):
    document = json.loads((ROOT / "examples" / EXAMPLE).read_text(encoding="utf-8"))
    document["therapies"][0]["drugs"] = ["notadrug"]
    del document["er"]
    expected = httpx.post(f"{server}/v1/recommendations", json=document, timeout=120).json()["violations"]
    assert {v["field"] for v in expected} >= {"er"}
    page.goto(f"{server}/")
    page.fill("#document", json.dumps(document, indent=2))
    page.click("#submit")
    page.wait_for_selector("#document-errors:not([hidden])")
    shown = page.inner_text("#document-errors")
    for violation in expected:
        assert violation["field"] in shown and violation["message"] in shown
    assert page.get_attribute("#document", "aria-invalid") == "true"
    # the box sits right after the field it is about, and the field points to it
    assert "document-errors" in page.get_attribute("#document", "aria-describedby")
    assert page.locator("#assessment").is_hidden()


def test_a_bad_document_after_a_patient_leaves_nothing_of_hers_on_the_page(page, server):
    submit_example(page, server)
    page.fill("#document", json.dumps({"id": "other", "stage": "metastatic"}))
    page.click("#submit")
    page.wait_for_selector("#document-errors:not([hidden])")
    assert page.locator("#assessment").is_hidden() and page.locator("#summary").is_hidden()
    assert page.locator("#details").is_hidden()
    page.wait_for_function("() => !document.querySelector('#picture svg g.step[data-status]')")
    assert page.locator("#picture svg g.step").count() == 18  # the bare pathway again


def test_a_body_that_is_not_a_document_is_refused_in_words(page, server):
    page.goto(f"{server}/")
    page.fill("#document", "{not json")
    page.click("#submit")
    page.wait_for_selector("#document-errors:not([hidden])")
    assert "JSON" in page.inner_text("#document-errors")


def test_turtle_example_gives_the_same_picture(page, server):
    submit_example(page, server, "patient-esr1-after-cdk46.ttl")
    recommended = page.eval_on_selector_all("#picture svg g.step.status-recommended", "ns => ns.length")
    assert recommended == len(
        {o["step"]["id"] for o in answer_for(server, EXAMPLE)["options"] if o["status"] == "recommended"}
    )


def test_a_fhir_bundle_example_is_sent_as_fhir_and_drawn(page, server):
    name = "patient-relapsed-esr1.fhir.json"
    body = (ROOT / "examples" / name).read_bytes()
    response = httpx.post(
        f"{server}/v1/recommendations", content=body, headers={"Content-Type": "application/fhir+json"}, timeout=120
    )  # generous: the first FHIR bundle a server reads prepares the FHIR mapping (about 20 s here)
    assert response.status_code == 200, response.text
    expected = {o["step"]["id"] for o in response.json()["options"] if o["status"] == "recommended"}
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("content-type", "")) if r.method == "POST" else None)
    submit_example(page, server, name)
    assert page.input_value("#format") == "application/fhir+json" and "application/fhir+json" in sent
    drawn = page.eval_on_selector_all("#picture svg g.step.status-recommended", "ns => ns.map(n => n.dataset.step)")
    assert set(drawn) == expected and expected


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/docs", "() => document.querySelectorAll('.swagger-ui .opblock').length > 0"),
        ("/redoc", "() => document.body.innerText.includes('/v1/recommendations')"),
    ],
)
def test_api_docs_render_offline(page, server, path, ready):
    page.goto(f"{server}{path}")
    page.wait_for_function(ready, timeout=60_000)
