"""The query catalog: every query documents itself, runs by name with parameters, and returns the same rows
on rdflib and on Oxigraph (and on Apache Jena ARQ where it runs), so the files are standard SPARQL 1.1."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
from rdflib import XSD, Literal
from rdflib.query import Result

from kg_service.cli import main as cli_main
from kg_service.graph import queries as query_catalog
from kg_service.graph.query_runner import UnknownParameter, run_oxigraph, run_rdflib

CATALOG = query_catalog.names("catalog")
PARAMS = {
    "catalog/next-steps": {"step": "https://w3id.org/mbc-kg/id/step/endocrine-therapy-cdk46-inhibitor"},
    "catalog/regimens-by-biomarker": {"biomarker": "https://w3id.org/mbc-kg/id/biomarker/ESR1_mutation"},
    "catalog/regimen-evidence": {"regimen": "https://w3id.org/mbc-kg/id/regimen/elacestrant"},
    "catalog/trials-and-approvals-by-drug-class": {"drugClass": "mbc:CDK46Inhibitor"},
}


def canonical(term):
    """RDF 1.1: a simple literal is an xsd:string literal; compare terms in that form."""
    if term is None:
        return None
    if isinstance(term, Literal) and term.datatype is None and term.language is None:
        return Literal(str(term), datatype=XSD.string)
    return term


def row_set(rows):
    return sorted(tuple((k, str(canonical(v)), repr(type(v).__name__)) for k, v in sorted(r.items())) for r in rows)


@pytest.fixture(scope="module")
def store(reasoner):
    return reasoner.store


def test_catalog_is_complete():
    wanted = {
        "regimens-by-biomarker",
        "regimen-evidence",
        "trials-and-approvals-by-drug-class",
        "next-steps",
        "drugs-with-identifiers",
        "pathway-edges",
    }
    assert wanted <= {n.split("/")[1] for n in CATALOG}


@pytest.mark.parametrize("name", query_catalog.names())
def test_every_query_has_a_header(name):
    text = query_catalog.header(name)
    assert text.startswith("What it answers:"), name
    assert "Parameters:" in text and "Example" in text, name


@pytest.mark.parametrize("name", CATALOG)
@pytest.mark.parametrize("bound", [False, True])
def test_same_rows_on_rdflib_and_oxigraph(graph, store, name, bound):
    params = PARAMS.get(name, {}) if bound else {}
    on_oxigraph = run_oxigraph(store, name, params)
    on_rdflib = run_rdflib(graph, name, params)
    assert on_oxigraph.rows, f"{name} returned nothing"
    assert row_set(on_oxigraph.rows) == row_set(on_rdflib.rows)


def test_a_parameter_restricts_the_answer(store):
    everything = run_oxigraph(store, "catalog/regimen-evidence")
    one = run_oxigraph(store, "catalog/regimen-evidence", PARAMS["catalog/regimen-evidence"])
    assert 0 < len(one.rows) < len(everything.rows)
    assert {r["nct"] for r in one.rows if r["nct"]} == {Literal("NCT03778931", datatype=XSD.string)}


def test_unknown_parameter_is_refused(store):
    with pytest.raises(UnknownParameter):
        run_oxigraph(store, "catalog/pathway-edges", {"step": "x"})


def test_query_command(capsys):
    assert (
        cli_main(
            ["query", "next-steps", "--param", "step=https://w3id.org/mbc-kg/id/step/parp-inhibitor", "--format", "csv"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Chemo" in out and "Sacituzumab govitecan" in out
    assert cli_main(["query", "no-such-query"]) == 2


def jena_classpath() -> str | None:
    """Debian's libapache-jena-java, if installed and runnable (MBC_KG_JENA_CP overrides the class path)."""
    if os.environ.get("MBC_KG_JENA_CP"):
        return os.environ["MBC_KG_JENA_CP"]
    if not shutil.which("java") or not os.path.exists("/usr/share/java/jena-arq.jar"):
        return None
    jars = [f"/usr/share/java/{j}" for j in os.listdir("/usr/share/java") if j.endswith(".jar") and "slf4j" not in j]
    return ":".join(jars + ["/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar"])


@pytest.mark.parametrize("name", CATALOG)
def test_same_rows_on_jena_arq(graph, store, tmp_path_factory, name):
    classpath = jena_classpath()
    if classpath is None:
        pytest.skip("Apache Jena (Debian libapache-jena-java) is not installed")
    data = tmp_path_factory.getbasetemp() / "graph.nt"
    if not data.exists():
        graph.serialize(data, format="nt", encoding="utf-8")
    run = subprocess.run(
        [
            "java",
            "-cp",
            classpath,
            "arq.sparql",
            "--data",
            str(data),
            "--query",
            str(query_catalog.queries_dir() / f"{name}.rq"),
            "--results",
            "JSON",
        ],
        capture_output=True,
        timeout=120,
    )
    if run.returncode != 0:
        pytest.skip(f"Jena ARQ does not run here: {run.stderr.decode()[-300:]}")
    on_jena = Result.parse(io.BytesIO(run.stdout), format="json")
    jena_rows = [{str(v): row[v] for v in on_jena.vars} for row in on_jena]
    assert row_set(jena_rows) == row_set(run_oxigraph(store, name).rows)
