"""Rank 3, the patient: every input format into the patient graph in the project's vocabulary (the JSON
document: `json_document`; RDF: `rdf_document`; FHIR R4 bundles go here too), and its validation against the
patient shapes (`validation`: compiled to SPARQL by `shacl_compiler`, or pySHACL, the reference). Parsers parse;
the shapes judge. May import `core`, `store` and `graph`."""
