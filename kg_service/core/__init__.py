"""Rank 0, the base: the RDF namespaces, the error values every layer raises (BadRequest, InvalidPatient,
Violation), where the knowledge files live (`resources.data_dir`), and running work on threads (`parallel`).
It holds no clinical fact and imports nothing of the project."""
