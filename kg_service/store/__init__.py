"""Rank 1, the SPARQL engines behind one interface: the embedded Oxigraph store (`oxigraph`, the default), a
remote SPARQL 1.1 server (`remote`) and rdflib (`rdflib_store`, the reference). Each loads the knowledge graph,
holds a patient's triples in a scratch graph for one request (`patient_graph`) and runs query text on it.
May import `kg_service.core` only."""
