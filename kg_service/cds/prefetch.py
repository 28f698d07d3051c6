"""The patient's FHIR data for a CDS request: from `prefetch`, else fetched from `fhirServer` with the
client's bearer token. The fetch has a timeout, follows no redirect to another host, sends the token to the
FHIR server only, and pages through searchset Bundles on the same server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_PAGES = 50
MAX_REDIRECTS = 3


class MissingData(Exception):
    """The service cannot get the data it needs (no prefetch for a key, no FHIR server): 412."""


class FetchFailed(Exception):
    """The FHIR server did not give the data (error status, timeout, redirect to another host): 502."""


def fill(template: str, context: dict) -> str:
    """A prefetch template with its context tokens replaced; a token whose value is no FHIR id is refused, so
    that nothing but an id ever lands in the query."""

    def value(match: re.Match) -> str:
        token = match.group(1)
        name = token.split(".", 1)[1] if token.startswith("context.") else token
        found = context.get(name)
        if isinstance(found, str) and "/" in found:  # userId: "Practitioner/abc"
            found = found.split("/", 1)[1]
        if not isinstance(found, str) or not FHIR_ID.match(found):
            raise ValueError(f"context.{name} must be a FHIR id (1-64 letters, digits, '-' or '.'); got {found!r}")
        return found

    return re.sub(r"\{\{\s*([\w.]+)\s*\}\}", value, template)


def resources_of(value: Any) -> list[dict]:
    """The resources a prefetch value holds: a resource, or a Bundle's entries (null: none)."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        if not isinstance(value.get("entry"), list):
            return []
        return [
            e["resource"]
            for e in value.get("entry") or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    if value.get("resourceType") == "OperationOutcome":
        return []
    return [value] if isinstance(value.get("resourceType"), str) else []


def collection(resources: list[dict]) -> dict:
    """One collection Bundle of every resource gathered (the FHIR adapter drops repeats)."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class FhirServer:
    """A FHIR server the CDS client named, read with its bearer token."""

    def __init__(
        self, base: str, token: str | None, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ):
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed(f"fhirServer must be an http(s) URL; got {base!r}")
        self.base = base.rstrip("/") + "/"
        self.token = token
        self.client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def close(self) -> None:
        self.client.close()

    def _get(self, url: str) -> dict:
        for _ in range(MAX_REDIRECTS + 1):
            if not _same_origin(url, self.base):
                raise FetchFailed(
                    f"refused to read {url}: not on the FHIR server {self.base} (the token goes nowhere else)"
                )
            headers = {"Accept": "application/fhir+json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                response = self.client.get(url, headers=headers)
            except httpx.TimeoutException as exc:
                raise FetchFailed(f"the FHIR server did not answer in time ({url})") from exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"the FHIR server could not be read ({url}): {exc}") from exc
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code == 404:
                return {}
            if response.status_code != 200:
                raise FetchFailed(f"the FHIR server answered {response.status_code} for {url}")
            try:
                body = response.json()
            except ValueError as exc:
                raise FetchFailed(f"the FHIR server's answer for {url} is not JSON") from exc
            if not isinstance(body, dict):
                raise FetchFailed(f"the FHIR server's answer for {url} is not a FHIR resource")
            return body
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects for {url}")

    def read(self, query: str) -> list[dict]:
        """The resources a relative query (a read or a search) gives, every page of a searchset."""
        url = urljoin(self.base, query)
        found: list[dict] = []
        for _ in range(MAX_PAGES):
            body = self._get(url)
            found += resources_of(body)
            following = next(
                (
                    link.get("url")
                    for link in body.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"
                ),
                None,
            )
            if body.get("resourceType") != "Bundle" or not isinstance(following, str):
                return found
            url = urljoin(url, following)
        raise FetchFailed(f"more than {MAX_PAGES} pages for {query}")


def gather(
    request: dict, templates: dict[str, str], timeout: float, transport: httpx.BaseTransport | None = None
) -> dict:
    """The patient's Bundle for a CDS request: each prefetch key from `prefetch`, a missing one fetched from
    `fhirServer`; MissingData (412) when neither gives it."""
    prefetch = request.get("prefetch") if isinstance(request.get("prefetch"), dict) else {}
    context = request.get("context") if isinstance(request.get("context"), dict) else {}
    # a key left out, or answered with an OperationOutcome (the client's fetch failed), is not data
    failed = {k for k, v in prefetch.items() if isinstance(v, dict) and v.get("resourceType") == "OperationOutcome"}
    missing = [key for key in templates if key not in prefetch or key in failed]
    resources: list[dict] = []
    for key in templates:
        if key in prefetch and key not in failed:
            resources += resources_of(prefetch[key])
    if missing:
        server = request.get("fhirServer")
        if not isinstance(server, str):
            raise MissingData(
                f"no prefetch for {', '.join(missing)} and no fhirServer to read them from: the service cannot "
                "get the patient data it needs"
            )
        authorization = request.get("fhirAuthorization")
        token = authorization.get("access_token") if isinstance(authorization, dict) else None
        client = FhirServer(server, token if isinstance(token, str) else None, timeout, transport)
        try:
            for key in missing:
                try:
                    query = fill(templates[key], context)
                except ValueError as exc:
                    raise MissingData(str(exc)) from exc
                resources += client.read(query)
        finally:
            client.close()
    if not any(r.get("resourceType") == "Patient" for r in resources):
        raise MissingData("neither the prefetch nor the FHIR server gave the Patient resource of context.patientId")
    return collection(resources)
