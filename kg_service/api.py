"""The ASGI application, at the address the contract names (`kg_service.api:app`); built in `kg_service.http`."""

from kg_service.http.app import app

__all__ = ["app"]
