"""Rank 0, the base: the RDF namespaces, the error values every layer raises (BadRequest, InvalidPatient,
Violation), where the knowledge files live (`resources.data_dir`), running work on threads (`parallel`), and
keeping start-up objects out of garbage collections (`memory`).
It holds no clinical fact and imports nothing of the project."""
