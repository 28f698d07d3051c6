"""CDS Hooks 2.0 cards built from the contract's answer. Every card has a uuid, a summary under 140
characters, Markdown detail with the reasons and the evidence (NCT numbers), the source (label, the
pathway's URL and the graph version) and, when the clinician's page exists, a link to it. No optional field
is null or empty (the specification's JSON rule)."""

from __future__ import annotations

import uuid
from typing import Any

SUMMARY_MAX = 139
SOURCE_LABEL = "mbc-kg pathway reasoner"


def prune(value: Any) -> Any:
    """Drop null, "", [] and {} members (recursively): CDS Hooks forbids empty optional fields."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (prune(v) for v in value) if v not in (None, "", [], {})]
    return value


def summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _evidence(option: dict) -> list[str]:
    out = []
    for item in option.get("evidence") or []:
        label, nct = item.get("label"), item.get("nct")
        out.append(f"{label} ({nct})" if nct and label else str(label or nct))
    return [e for e in out if e and e != "None"]


def _option_markdown(option: dict) -> str:
    lines = [f"**{option['regimen']['label']}** (step: {option['step']['label']}; status: {option['status']})"]
    lines += [f"- {reason}" for reason in option.get("reasons") or []]
    if option.get("missing"):
        lines.append("- Missing: " + "; ".join(option["missing"]))
    evidence = _evidence(option)
    if evidence:
        lines.append("- Evidence: " + "; ".join(evidence))
    return "\n".join(lines)


class CardMaker:
    """Cards for one answer. `base_url` is the service's base; `page_url` the clinician's page (None when
    the deployment has none)."""

    def __init__(self, answer: dict, base_url: str, page_url: str | None = None):
        self.answer = answer
        self.version = answer.get("knowledge_graph_version", "")
        self.base_url = base_url.rstrip("/")
        self.page_url = page_url

    def source(self) -> dict:
        return {"label": f"{SOURCE_LABEL} (graph {self.version})", "url": f"{self.base_url}/v1/steps"}

    def links(self) -> list[dict]:
        if not self.page_url:
            return []
        return [
            {
                "label": f"The pathway on the clinician's page (graph {self.version})",
                "url": self.page_url,
                "type": "absolute",
            }
        ]

    def card(self, indicator: str, text: str, detail: str, **extra: Any) -> dict:
        card = {
            "uuid": str(uuid.uuid4()),
            "summary": summary(text),
            "detail": detail + "\n\n_Not medical advice: the pathway's options with their sources._",
            "indicator": indicator,
            "source": self.source(),
            "links": self.links(),
            **extra,
        }
        return prune(card)

    def options(self, status: str) -> list[dict]:
        return [o for o in self.answer.get("options") or [] if o.get("status") == status]

    def patient_view(self) -> list[dict]:
        """One info card per recommended option; one warning card per test that would decide undetermined
        options; the answer's warnings in one info card."""
        cards = []
        for option in self.options("recommended"):
            cards.append(
                self.card(
                    "info",
                    f"Pathway option: {option['regimen']['label']} ({option['step']['label']})",
                    _option_markdown(option),
                )
            )
        by_missing: dict[str, list[dict]] = {}
        for option in self.options("undetermined"):
            for item in option.get("missing") or []:
                by_missing.setdefault(item, []).append(option)
        for item, options in by_missing.items():
            names = ", ".join(dict.fromkeys(o["regimen"]["label"] for o in options))
            detail = f"Would decide {len(options)} undetermined option(s): {names}.\n\n" + "\n\n".join(
                _option_markdown(o) for o in options
            )
            cards.append(self.card("warning", f"To decide {len(options)} option(s): {item}", detail))
        notes = self.answer.get("warnings") or []
        if notes:
            detail = "The options above rest on this reading of the record:\n\n" + "\n".join(f"- {n}" for n in notes)
            cards.append(
                self.card("info", f"How the record was read: {len(notes)} note(s) (lines of therapy, dates)", detail)
            )
        return cards

    def order_select(self, drafted: list[tuple[list[str], list[str], set[str]]]) -> list[dict]:
        """A warning card for each drafted regimen that the answer does not place as recommended or eligible
        (not eligible, or resting on missing data), with the reasons and a suggestion to order a recommended
        regimen instead; a warning card when the drafted drugs make up no regimen of the pathway. `drafted`:
        (references of the draft MedicationRequests, the generic names of their drugs, the regimens (IRIs)
        they make up)."""
        cards = []
        recommended = self.options("recommended")
        for references, drugs, regimens in drafted:
            reference = ", ".join(references)
            if not regimens:  # not a regimen of the pathway: it cannot be checked, and silence would read as a pass
                detail = (
                    f"The drafted orders ({reference}: {', '.join(drugs)}) together make up no regimen of this "
                    "pathway, so they were not checked against it."
                )
                cards.append(self.card("warning", "Drafted orders not checked: no regimen of the pathway", detail))
                continue
            matching = [o for o in self.answer.get("options") or [] if o["regimen"]["id"] in regimens]
            if not matching or any(o["status"] in ("recommended", "eligible") for o in matching):
                continue
            option = next((o for o in matching if o["status"] == "not_eligible"), matching[0])
            suggestions = [
                {
                    "label": f"Order {o['regimen']['label']} instead",
                    "uuid": str(uuid.uuid4()),
                    "isRecommended": True,
                    "actions": [
                        {"type": "delete", "description": f"Remove the drafted order {ref}", "resourceId": ref}
                        for ref in references
                    ]
                    + [
                        {
                            "type": "create",
                            "description": f"Draft {drug} ({o['regimen']['label']})",
                            "resource": draft_request(self.answer.get("patient_id"), drug),
                        }
                        for drug in o["regimen"]["drugs"]
                    ],
                }
                for o in recommended[:3]
            ]
            verdict = "is not eligible" if option["status"] == "not_eligible" else "rests on missing data"
            detail = (
                f"The drafted order ({reference}: {', '.join(drugs)}) matches **{option['regimen']['label']}**, "
                f"which {verdict} for this patient.\n\n"
            )
            detail += _option_markdown(option)
            if recommended:
                detail += "\n\nRecommended instead:\n\n" + "\n\n".join(_option_markdown(o) for o in recommended[:3])
            extra = {"suggestions": suggestions, "selectionBehavior": "at-most-one"} if suggestions else {}
            cards.append(
                self.card("warning", f"{option['regimen']['label']} {verdict} for this patient", detail, **extra)
            )
        return cards

    def unrecognised_orders(self, unknown: list[tuple[str, str]]) -> list[dict]:
        """A warning card naming the drafted orders whose drug the pathway's graph does not know: they were not
        checked, and the rest of the draft was checked without them."""
        if not unknown:
            return []
        listed = "\n".join(f"- {reference}: {text}" for reference, text in unknown)
        detail = (
            "These drafted orders name a drug this pathway's knowledge graph does not know, so they were not "
            f"checked against the pathway (the other drafted drugs were checked without them):\n\n{listed}"
        )
        return [self.card("warning", "Drafted order not checked: drug not known to the pathway", detail)]


def draft_request(patient_id: str | None, drug: str) -> dict:
    """A draft MedicationRequest for one drug, named by its generic name (the EHR codes it)."""
    return prune(
        {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient_id}"} if patient_id else None,
            "medicationCodeableConcept": {"text": drug},
        }
    )
