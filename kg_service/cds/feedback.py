"""The CDS Hooks feedback store: the cards the service issued and the feedback on them, in SQLite (an
in-memory database by default, a file with MBC_KG_CDS_FEEDBACK_DB), counted per card and outcome. No
patient data is stored: a card is kept by its uuid, service, indicator and summary."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading

OUTCOMES = ("accepted", "overridden")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (uuid TEXT PRIMARY KEY, service TEXT NOT NULL, indicator TEXT NOT NULL,
                                  summary TEXT NOT NULL, issued TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, service TEXT NOT NULL, card TEXT NOT NULL,
                                     outcome TEXT NOT NULL, accepted_suggestions TEXT, override_reason TEXT,
                                     outcome_timestamp TEXT NOT NULL, received TEXT NOT NULL);
"""


class FeedbackError(ValueError):
    """A feedback item that breaks the specification's shape; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _timestamp(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise FeedbackError(field, "is required: an ISO 8601 UTC timestamp")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FeedbackError(field, f"is not an ISO 8601 timestamp (got {value!r})") from exc
    if parsed.tzinfo is None:
        raise FeedbackError(field, f"must carry its UTC offset (got {value!r})")
    return parsed.astimezone(dt.UTC).isoformat()


def check_feedback(body: object) -> list[dict]:
    """The feedback items of a request body, each checked against CDS Hooks 2.0 §Feedback."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise FeedbackError("feedback", "is required: a non-empty list of feedback items")
    items = []
    for index, item in enumerate(body["feedback"]):
        where = f"feedback[{index}]"
        if not isinstance(item, dict):
            raise FeedbackError(where, "must be an object")
        if not isinstance(item.get("card"), str) or not item["card"]:
            raise FeedbackError(f"{where}.card", "is required: the uuid of the card")
        if item.get("outcome") not in OUTCOMES:
            raise FeedbackError(
                f"{where}.outcome", f"must be one of {', '.join(OUTCOMES)} (got {item.get('outcome')!r})"
            )
        accepted = item.get("acceptedSuggestions")
        if accepted is not None and (
            not isinstance(accepted, list)
            or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted)
        ):
            raise FeedbackError(f"{where}.acceptedSuggestions", 'must be a list of {"id": suggestion uuid}')
        if item["outcome"] == "accepted" and not accepted:
            raise FeedbackError(f"{where}.acceptedSuggestions", "is required when the outcome is accepted")
        reason = item.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise FeedbackError(f"{where}.overrideReason", "must be an object with reason (Coding) and userComment")
        items.append(
            {**item, "outcomeTimestamp": _timestamp(item.get("outcomeTimestamp"), f"{where}.outcomeTimestamp")}
        )
    return items


class FeedbackStore:
    def __init__(self, path: str = ":memory:"):
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        with self._lock, self._db:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def issued(self, service: str, cards: list[dict]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO cards VALUES (?, ?, ?, ?, ?)",
                [(c["uuid"], service, c["indicator"], c["summary"], now) for c in cards if "uuid" in c],
            )

    def add(self, service: str, items: list[dict]) -> int:
        now = dt.datetime.now(dt.UTC).isoformat()
        rows = [
            (
                service,
                item["card"],
                item["outcome"],
                json.dumps(item.get("acceptedSuggestions")) if item.get("acceptedSuggestions") else None,
                json.dumps(item.get("overrideReason")) if item.get("overrideReason") else None,
                item["outcomeTimestamp"],
                now,
            )
            for item in items
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO feedback (service, card, outcome, accepted_suggestions, override_reason, "
                "outcome_timestamp, received) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def counts(self, service: str) -> list[dict]:
        """Feedback per card and outcome, with the card's indicator and summary when the service issued it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.card, c.indicator, c.summary, f.outcome, COUNT(*) FROM feedback f "
                "LEFT JOIN cards c ON c.uuid = f.card WHERE f.service = ? "
                "GROUP BY f.card, f.outcome ORDER BY f.card, f.outcome",
                (service,),
            ).fetchall()
        return [
            {
                k: v
                for k, v in {"card": card, "indicator": ind, "summary": summ, "outcome": outcome, "count": n}.items()
                if v is not None
            }
            for card, ind, summ, outcome, n in rows
        ]
