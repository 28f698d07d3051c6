"""An external SPARQL 1.1 engine over the protocol (Oxigraph server by default), with the same interface as
the embedded store: the knowledge graph lives in a named graph on the server (`mbc-kg load --endpoint`), each
patient in a named graph of its own, and every query names both as its default graph
(`default-graph-uri`), so the same .rq files run unchanged.

Settings: MBC_KG_SPARQL_ENDPOINT (the server's base URL, e.g. http://127.0.0.1:7878; queries go to /query,
updates to /update, whole graphs to /store, as Oxigraph server lays them out).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
from rdflib import BNode, Graph, Literal, URIRef

KG_GRAPH = "urn:mbc-kg:graph"


def _term(binding: dict):
    kind = binding["type"]
    if kind == "uri":
        return URIRef(binding["value"])
    if kind == "bnode":
        return BNode(binding["value"])
    if "xml:lang" in binding:
        return Literal(binding["value"], lang=binding["xml:lang"])
    datatype = binding.get("datatype")
    return Literal(binding["value"], datatype=URIRef(datatype) if datatype else None)


class RemoteError(RuntimeError):
    pass


class RemoteStore:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def _post(self, path: str, **kwargs) -> httpx.Response:
        response = self.client.post(f"{self.base}{path}", **kwargs)
        if response.status_code >= 400:
            raise RemoteError(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    def update(self, text: str) -> None:
        self._post("/update", content=text.encode("utf-8"), headers={"content-type": "application/sparql-update"})

    def query(self, query: str, graphs: list[str], accept: str) -> httpx.Response:
        form = urlencode([("query", query)] + [("default-graph-uri", g) for g in graphs])
        headers = {"accept": accept, "content-type": "application/x-www-form-urlencoded"}
        return self._post("/query", content=form.encode("utf-8"), headers=headers)

    def load_graph(self, graph: Graph) -> int:
        """Replace the knowledge graph on the server (Graph Store Protocol PUT)."""
        data = graph.serialize(format="nt", encoding="utf-8")
        response = self.client.put(
            f"{self.base}/store",
            params={"graph": KG_GRAPH},
            content=data,
            headers={"content-type": "application/n-triples"},
        )
        if response.status_code >= 400:
            raise RemoteError(f"/store: HTTP {response.status_code}: {response.text[:300]}")
        return len(graph)

    def count(self) -> int:
        rows = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", [KG_GRAPH], "application/sparql-results+json")
        return int(rows.json()["results"]["bindings"][0]["n"]["value"])

    @contextmanager
    def patient_graph(self, triples: Iterable[tuple]) -> Iterator[RemoteScope]:
        """triples: an rdflib Graph, or any iterable of rdflib triples."""
        name = f"urn:uuid:{uuid.uuid4()}"
        if not isinstance(triples, Graph):
            graph = Graph(store="SimpleMemory", bind_namespaces="none")
            graph += triples
            triples = graph
        data = triples.serialize(format="nt", encoding="utf-8").decode("utf-8")
        self.update(f"INSERT DATA {{ GRAPH <{name}> {{ {data} }} }}")
        try:
            yield RemoteScope(self, name)
        finally:
            self.update(f"DROP SILENT GRAPH <{name}>")


class RemoteScope:
    def __init__(self, store: RemoteStore, name: str):
        self.store = store
        self.name = name

    def construct(self, query: str) -> str:
        """The triples of a CONSTRUCT over the knowledge graph and the patient's graph, as N-Triples text."""
        return self.store.query(query, [KG_GRAPH, self.name], "application/n-triples").text

    def add_derived(self, triples: str) -> int:
        """Add a CONSTRUCT's N-Triples to the patient's graph on the server; how many."""
        if triples.strip():
            self.store.update(f"INSERT DATA {{ GRAPH <{self.name}> {{ {triples} }} }}")
        return triples.count("\n")

    def select(self, query: str, patient_only: bool = False) -> list[dict]:
        graphs = [self.name] if patient_only else [KG_GRAPH, self.name]
        body = self.store.query(query, graphs, "application/sparql-results+json").json()
        names = body["head"]["vars"]
        return [{n: _term(row[n]) if n in row else None for n in names} for row in body["results"]["bindings"]]
