"""The CDS services this project offers, as the discovery endpoint lists them, with their prefetch templates
(the FHIR queries whose results the FHIR adapter reads)."""

from __future__ import annotations

PATIENT_VIEW = "mbc-pathway-patient-view"
ORDER_SELECT = "mbc-pathway-order-select"

# The FHIR R4 searches the adapter needs (CDS Hooks 2.0 restricted prefetch subset: instance read and type
# search with patient=). Each key is filled by the client, or fetched from fhirServer when it is missing.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "specimens": "Specimen?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
}

SERVICES = {
    PATIENT_VIEW: {
        "hook": "patient-view",
        "title": "HR+/HER2- metastatic breast cancer pathway",
        "description": (
            "The pathway's treatment options for the patient in view (advanced HR-positive/HER2-negative breast "
            "cancer): the recommended regimens with their reasons and trials, and the tests that would decide "
            "the undetermined ones. Not medical advice."
        ),
        "id": PATIENT_VIEW,
        "prefetch": PREFETCH,
        "usageRequirements": "Reads the patient's Conditions, Observations, Specimens and medications (FHIR R4).",
    },
    ORDER_SELECT: {
        "hook": "order-select",
        "title": "HR+/HER2- metastatic breast cancer pathway: order check",
        "description": (
            "Checks a drafted MedicationRequest against the pathway's answer for the patient: a warning when the "
            "drafted regimen is not eligible or rests on missing data, with the reasons and the recommended "
            "regimens instead. Not medical advice."
        ),
        "id": ORDER_SELECT,
        "prefetch": PREFETCH,
        "usageRequirements": "Reads the patient's Conditions, Observations, Specimens and medications (FHIR R4).",
    },
}
