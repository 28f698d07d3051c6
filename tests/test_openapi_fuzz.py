"""Schemathesis against the app's own OpenAPI: generated requests for every operation; no server error, and
no response that breaks the documented schema, status codes, content types or headers."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from kg_service import api


@schemathesis.serializer("application/sparql-query", "text/turtle")
def as_text(ctx, value):
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
# Cases per operation: 25 in the normal suite; the full run (issue 14: at least 10,000 cases in all) is
# MBC_KG_FUZZ_EXAMPLES=700 python -m pytest tests/test_openapi_fuzz.py --hypothesis-show-statistics
EXAMPLES = int(os.environ.get("MBC_KG_FUZZ_EXAMPLES", "25"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case):
    # Excluded: a document can match the JSON schema and still be refused with 422 for clinical reasons
    # (ER-negative, a drug the graph does not know, a date in the future); and the service is lenient where
    # the contract allows (null as absent, unknown fields ignored with a warning). Server errors, response
    # schemas, status codes, content types and headers are all checked.
    case.call_and_validate(excluded_checks=[positive_data_acceptance, negative_data_rejection])
