"""JSON-LD input never causes network access.

rdflib's JSON-LD parser loads every remote context (an `@context` string, in any position: top level, a
nested node, a scoped term definition, an array) and every `@import` through one document loader,
`rdflib.plugins.shared.jsonld.context.source_to_json`. `install()` replaces that loader, for the whole
process, by one that refuses every document, so no JSON-LD text can make the service fetch anything; the
document itself (given as text) is read by the parser's own module, which is not affected. Imported by
`kg_service.patient.rdf_document`, which installs it."""

from __future__ import annotations

from rdflib.plugins.shared.jsonld import context as _context


class RemoteDocumentRefused(ValueError):
    """A JSON-LD document named a remote context or document; nothing was fetched."""


def refuse_every_document(source, *args, **kwargs):
    """The document loader: refuses whatever it is asked for."""
    raise RemoteDocumentRefused(
        f"JSON-LD that loads a remote document ({str(source)[:200]!r}, through @context or @import) is refused: "
        "nothing is ever fetched; embed the context in the document"
    )


def install() -> None:
    """Put the refusing loader in place of rdflib's (idempotent)."""
    _context.source_to_json = refuse_every_document


install()
