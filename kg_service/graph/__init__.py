"""Rank 2, the knowledge graph: loading the Turtle and the mappings (`loader`), the query files by name
(`queries`) and running catalog queries (`query_runner`), what the other layers read from the graph once at
start-up (`vocabulary`, `catalog`, `catalog_resources`), the SHACL shapes files (`shapes`), the graph's own
checks and HermiT (`checks`, `owl`), and exports (`export`). May import `core` and `store`."""
