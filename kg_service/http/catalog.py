"""The catalog apps read: steps, regimens, drugs, trials and biomarkers with IRIs, labels and identifiers;
and the service's liveness with the graph version."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kg_service.http import state
from kg_service.http.openapi import CATALOG_EXAMPLES

router = APIRouter(tags=["catalog"])

RESOURCES = {
    "steps": "Every pathway step with its label and note as the document writes them, and its children",
    "regimens": "Every regimen with its drugs, the steps that propose it and its evidence",
    "drugs": "Every drug with its class, brand names and external identifiers",
    "trials": "Every clinical trial with its ClinicalTrials.gov number",
    "biomarkers": "The biomarkers the pathway selects on, with genes and what to test",
}


def _catalog_route(name: str, summary: str) -> None:
    async def handler() -> JSONResponse:
        return JSONResponse(getattr(state.get_catalog(), name), headers=state.version_headers())

    handler.__name__ = f"catalog_{name}"
    router.get(
        f"/v1/{name}",
        summary=summary,
        responses={200: {"description": summary, "content": {"application/json": {"example": CATALOG_EXAMPLES[name]}}}},
    )(handler)


for _name, _summary in RESOURCES.items():
    _catalog_route(_name, _summary)


@router.get(
    "/health",
    tags=["service"],
    responses={
        200: {
            "description": "Alive",
            "content": {"application/json": {"example": {"status": "ok", "knowledge_graph_version": "2026-12-02"}}},
        }
    },
)
async def health() -> dict:
    """Liveness, with the knowledge graph's version."""
    return {"status": "ok", "knowledge_graph_version": state.get_reasoner().version}
