"""Feed health as the configuration and the database see it together (read-only)."""

from __future__ import annotations

from typing import Any

from storage.db import open_database_readonly
from storage.feeds import list_feeds
from tensionwatch.config import Settings


def feed_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per feed: configured feeds first (``never`` if not polled yet), then feeds
    that are stored but no longer configured (``disabled``)."""
    stored: dict[str, dict[str, Any]] = {}
    if settings.database.is_file():
        db = open_database_readonly(settings.database)
        try:
            stored = {row["config_url"]: row for row in list_feeds(db)}
        finally:
            db.conn.close()
    rows = []
    for spec in settings.feeds:
        row = stored.pop(spec.url, None) or _never_polled(spec.url)
        row.update(name=spec.name, country=spec.country, lang=spec.lang, archive=spec.archive)
        row["enabled"] = spec.enabled and not row.get("disabled_reason")
        if not row["enabled"]:
            row["status"] = "disabled"
        rows.append(row)
    for row in stored.values():
        row["enabled"], row["status"] = False, "disabled"
        row["disabled_reason"] = row.get("disabled_reason") or "no longer in the configuration"
        rows.append(row)
    return rows


def _never_polled(url: str) -> dict[str, Any]:
    return {
        "url": url, "config_url": url, "status": "never", "last_ok": None, "last_error": None,
        "last_error_at": None, "error_since": None, "last_warning": None, "error_count": 0,
        "disabled_reason": None, "items": 0,
    }  # fmt: skip
