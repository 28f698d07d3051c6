"""HTTP content negotiation: pick the best offered media type for an Accept header (RFC 9110 q-values)."""

from __future__ import annotations


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    items = []
    for part in (header or "*/*").split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        items.append((fields[0].lower(), quality))
    return items


def choose(header: str | None, offered: list[str]) -> str | None:
    """The offered type the client prefers most (ties: the server's order); None if none is acceptable.

    An exact media range outranks `type/*`, which outranks `*/*` (RFC 9110, 12.5.1)."""
    accepted = parse_accept(header)
    best, best_q = None, 0.0
    for media in offered:
        ranges = {media: 3, media.split("/")[0] + "/*": 2, "*/*": 1}
        matches = [(ranges[pattern], q) for pattern, q in accepted if pattern in ranges]
        if not matches:
            continue
        quality = max(matches)[1]
        if quality > best_q:
            best, best_q = media, quality
    return best
