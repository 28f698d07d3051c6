"""RDF namespaces of the project's vocabulary (IRIs only; no clinical content)."""

from rdflib import Namespace

MBC = Namespace("https://w3id.org/mbc-kg/ontology#")
MBCK = Namespace("https://w3id.org/mbc-kg/id/")
PATIENT = Namespace("https://w3id.org/mbc-kg/patient/")
SHAPES = Namespace("https://w3id.org/mbc-kg/shapes#")

PREFIXES = {
    "mbc": str(MBC),
    "mbck": str(MBCK),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
}
