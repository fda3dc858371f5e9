"""The one timestamp format stored, written and read."""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(moment: datetime) -> str:
    """The one timestamp format stored: UTC, seconds, ``Z`` suffix (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """A stored timestamp (``to_iso``'s format) as an aware UTC datetime. ``fromisoformat``
    reads it ten times faster than ``strptime``, which counts when a week of items is
    tallied per page view or a chunk of items is clustered."""
    return datetime.fromisoformat(text)
