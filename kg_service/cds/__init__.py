"""CDS Hooks 2.0 presentation (issue 15): the services' discovery entries and prefetch templates, cards built
from the reasoner's answer (patient-view, order-select), the prefetch or FHIR-server data turned into a
Bundle for the FHIR adapter, the feedback store (SQLite) and the verification of the CDS client's JWT.

Owns no reasoning: cards are built from the contract's answer. The HTTP router is kg_service/http/cds_hooks.py.
May import: kg_service.core, kg_service.graph, kg_service.patient, kg_service.reasoning (lower ranks).
"""
