"""Verifying the CDS client's bearer JWT (CDS Hooks 2.0 §Trusting CDS Clients) with PyJWT.

Trusted issuers are configured as JSON (MBC_KG_CDS_TRUSTED_ISSUERS: the JSON text or a file path):
`{"https://ehr.example.org": {"jwks_file": "/etc/mbc-kg/ehr-jwks.json"}}` or `{"iss": {"jwks_url": "https://…"}}`.
With issuers configured, every call needs `Authorization: Bearer <JWT>` whose `iss` is trusted, signed by a
key of that issuer's JWK Set (asymmetric algorithms only), with `aud` = the service URL called, `exp` in
the future, `iat` and a `jti` not seen before. A `jku` header is honoured only when it is the configured URL.
Without issuers configured nothing is checked (development); the README says so.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jwt

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]


class Unauthorized(Exception):
    """A missing or bad token: 401, with the reason."""


def read_issuers(setting: str | None) -> dict[str, dict]:
    """The trusted issuers from the setting (JSON text, or the path of a JSON file); {} when unset."""
    if not setting or not setting.strip():
        return {}
    text = setting.strip()
    if not text.startswith("{"):
        text = Path(text).read_text(encoding="utf-8")
    issuers = json.loads(text)
    if not isinstance(issuers, dict) or not all(
        isinstance(v, dict) and ("jwks_file" in v or "jwks_url" in v) for v in issuers.values()
    ):
        raise ValueError("MBC_KG_CDS_TRUSTED_ISSUERS: an object of issuer -> {jwks_file | jwks_url}")
    return issuers


class TokenVerifier:
    def __init__(self, issuers: dict[str, dict], leeway: float = 0.0):
        self.issuers = issuers
        self.leeway = leeway
        self._keys: dict[str, jwt.PyJWKSet | jwt.PyJWKClient] = {}
        self._seen: dict[str, float] = {}  # jti -> exp
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.issuers)

    def _key(self, issuer: str, token: str, header: dict):
        config = self.issuers[issuer]
        if "jwks_file" in config:
            keys = self._keys.get(issuer)
            if keys is None:
                keys = jwt.PyJWKSet.from_json(Path(config["jwks_file"]).read_text(encoding="utf-8"))
                self._keys[issuer] = keys
            kid = header.get("kid")
            matching = [k for k in keys.keys if kid is None or k.key_id == kid]
            if not matching:
                raise Unauthorized(f"no key {kid!r} in the JWK Set of {issuer}")
            return matching[0].key
        url = config["jwks_url"]
        if header.get("jku") not in (None, url):
            raise Unauthorized("the token's jku is not the JWK Set URL configured for its issuer")
        client = self._keys.get(issuer)
        if client is None:
            client = jwt.PyJWKClient(url, timeout=5)
            self._keys[issuer] = client
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"the signing key could not be read from {url}: {exc}") from exc

    def verify(self, authorization: str | None, audience: str) -> dict:
        """The token's claims, or Unauthorized saying what is wrong."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("an Authorization: Bearer <JWT> header is required")
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not a JWT: {exc}") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"the token's algorithm {header.get('alg')!r} is not accepted (asymmetric only)")
        issuer = unverified.get("iss")
        if issuer not in self.issuers:
            raise Unauthorized(f"the token's issuer {issuer!r} is not trusted")
        key = self._key(issuer, token, header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized(f"the token's aud is not this service ({audience})") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from exc
        now = time.time()
        with self._lock:
            for jti, exp in list(self._seen.items()):
                if exp < now - self.leeway:
                    del self._seen[jti]
            if claims["jti"] in self._seen:
                raise Unauthorized("the token's jti was used before: a token is good for one call")
            self._seen[claims["jti"]] = float(claims["exp"])
        return claims
