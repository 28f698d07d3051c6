"""Rank 6, the HTTP surfaces: the FastAPI app and its error handlers (`app`), what it prepares once (`state`),
one router per surface (`recommendations`, `catalog`, `downloads`, `sparql`), the SPARQL 1.1 Protocol
(`sparql_protocol`, `sparql_guard`, `sparql_workers`), content negotiation and the OpenAPI parts. Routers stay
thin: they read a request and call the reasoner (`kg_service.service`). May import every lower rank."""
