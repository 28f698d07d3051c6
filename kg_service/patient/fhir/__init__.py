"""FHIR R4 / mCODE input (issue 15): a Bundle in, the contract's patient document out.

Owns: reading a Bundle (`bundle.py`), the code mapping read from the graph through `queries/service/fhir-*.rq`
(`mapping.py`), the conversion to the patient document with the FHIR element behind each field
(`adapter.py`) and the lines of therapy rebuilt from dates (`lines.py`). It holds no code-system value: which
LOINC, SNOMED CT, RxNorm or HGNC code means what is in `ontology/fhir-mapping.ttl` and
`ontology/mappings/fhir-codes.sssom.tsv`.

May import: kg_service.core, kg_service.store, kg_service.graph (lower ranks) and kg_service.patient.
"""

from kg_service.patient.fhir.adapter import FhirAdapter, FhirConversion, is_fhir_bundle

__all__ = ["FhirAdapter", "FhirConversion", "is_fhir_bundle"]
