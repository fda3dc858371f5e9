"""Feed rows: syncing them with the configuration, polling state, and the fetch log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from model import FeedSpec
from storage.db import from_iso, to_iso

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class FeedState:
    """What the collector needs to know about a feed before polling it."""

    id: int
    config_url: str
    url: str  # current URL (after permanent redirects)
    name: str
    lang: str
    interval: int | None
    enabled: bool
    archive: bool
    disabled_reason: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    error_count: int
    retry_after: datetime | None
    backoff_until: datetime | None
    next_due: datetime | None


def _opt_time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def sync_feeds(db: sqlite_utils.Database, specs: Sequence[FeedSpec], now: datetime) -> None:
    """Insert configured feeds, update their settings; feeds gone from the config are
    disabled, never deleted (their items stay)."""
    stamp = to_iso(now)
    for spec in specs:
        db.execute(
            """
            INSERT INTO feeds (config_url, url, name, country, lang, interval, enabled, archive,
                               created)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (config_url) DO UPDATE SET
                name = excluded.name, country = excluded.country, lang = excluded.lang,
                interval = excluded.interval, enabled = excluded.enabled,
                archive = excluded.archive
            """,
            [
                spec.url,
                spec.url,
                spec.name,
                spec.country,
                spec.lang,
                spec.interval,
                int(spec.enabled),
                int(spec.archive),
                stamp,
            ],
        )
    configured = [spec.url for spec in specs]
    marks = ",".join("?" * len(configured)) or "NULL"
    db.execute(f"UPDATE feeds SET enabled = 0 WHERE config_url NOT IN ({marks})", configured)


_STATE_COLUMNS = """id, config_url, url, name, lang, interval, enabled, archive, disabled_reason,
                    etag, last_modified, body_hash, error_count, retry_after, backoff_until,
                    next_due"""


def feed_state(db: sqlite_utils.Database, config_url: str) -> FeedState | None:
    row = db.execute(
        f"SELECT {_STATE_COLUMNS} FROM feeds WHERE config_url = ?", [config_url]
    ).fetchone()
    return None if row is None else _state(row)


def feed_states(db: sqlite_utils.Database, config_urls: Sequence[str]) -> dict[str, FeedState]:
    """``feed_state`` of many feeds in one read (a pass's start): by config URL, only those
    found."""
    wanted = set(config_urls)
    if not wanted:
        return {}
    rows = db.execute(f"SELECT {_STATE_COLUMNS} FROM feeds")
    return {row[1]: _state(row) for row in rows if row[1] in wanted}


def _state(row: Sequence[Any]) -> FeedState:
    return FeedState(
        id=row[0],
        config_url=row[1],
        url=row[2],
        name=row[3],
        lang=row[4],
        interval=row[5],
        enabled=bool(row[6]),
        archive=bool(row[7]),
        disabled_reason=row[8],
        etag=row[9],
        last_modified=row[10],
        body_hash=row[11],
        error_count=row[12],
        retry_after=_opt_time(row[13]),
        backoff_until=_opt_time(row[14]),
        next_due=_opt_time(row[15]),
    )


def record_success(
    db: sqlite_utils.Database,
    feed_id: int,
    now: datetime,
    *,
    http_status: int,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    warning: str | None,
    next_due: datetime,
) -> None:
    """A poll that worked (new body, unchanged body or 304): errors and windows reset."""
    db.execute(
        """UPDATE feeds SET last_polled = ?, last_ok = ?, last_status = ?,
                  etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),
                  body_hash = coalesce(?, body_hash), last_warning = ?,
                  error_count = 0, error_since = NULL, retry_after = NULL,
                  backoff_until = NULL, next_due = ?
           WHERE id = ?""",
        [
            to_iso(now),
            to_iso(now),
            http_status,
            etag,
            last_modified,
            body_hash,
            warning,
            to_iso(next_due),
            feed_id,
        ],
    )


def record_failure(
    db: sqlite_utils.Database,
    feed_id: int,
    now: datetime,
    *,
    error: str,
    http_status: int | None,
    retry_after: datetime | None,
    backoff_until: datetime | None,
    next_due: datetime,
    disabled_reason: str | None = None,
) -> None:
    """A poll that failed: the error is stored on the feed, shown in feed health."""
    db.execute(
        """UPDATE feeds SET last_polled = ?, last_error = ?, last_error_at = ?,
                  error_since = coalesce(error_since, ?), last_status = ?,
                  error_count = error_count + 1, retry_after = ?, backoff_until = ?,
                  next_due = ?, disabled_reason = coalesce(?, disabled_reason)
           WHERE id = ?""",
        [
            to_iso(now),
            error,
            to_iso(now),
            to_iso(now),
            http_status,
            to_iso(retry_after) if retry_after else None,
            to_iso(backoff_until) if backoff_until else None,
            to_iso(next_due),
            disabled_reason,
            feed_id,
        ],
    )


def move_feed(db: sqlite_utils.Database, feed_id: int, new_url: str) -> bool:
    """Follow a permanent redirect; False when another feed already lives at ``new_url``."""
    taken = db.execute("SELECT 1 FROM feeds WHERE url = ? AND id != ?", [new_url, feed_id])
    if taken.fetchone():
        return False
    db.execute("UPDATE feeds SET url = ? WHERE id = ?", [new_url, feed_id])
    return True


def enable_feed(db: sqlite_utils.Database, url: str) -> bool:
    """Clear a feed's collector-set disabled state (e.g. after 410 Gone) and its windows."""
    cursor = db.execute(
        """UPDATE feeds SET disabled_reason = NULL, retry_after = NULL, backoff_until = NULL,
                  error_count = 0, error_since = NULL
           WHERE config_url = ? OR url = ?""",
        [url, url],
    )
    return cursor.rowcount > 0


def log_fetch(
    db: sqlite_utils.Database,
    feed_id: int,
    started: datetime,
    *,
    outcome: str,
    http_status: int | None,
    new: int,
    seen: int,
    duration_ms: int,
    error: str | None,
    warning: str | None,
) -> None:
    db.execute(
        """INSERT INTO fetch_log (feed_id, started, outcome, http_status, new, seen,
                                  duration_ms, error, warning)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [feed_id, to_iso(started), outcome, http_status, new, seen, duration_ms, error, warning],
    )


FEED_STATUS_SQL = """
    CASE WHEN f.enabled = 0 OR f.disabled_reason IS NOT NULL THEN 'disabled'
         WHEN f.error_count > 0 THEN 'error'
         WHEN f.last_ok IS NOT NULL THEN 'ok'
         ELSE 'never' END
"""


def list_feeds(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every feed with its health, for ``feeds list`` (one dict per feed)."""
    rows = db.query(
        f"""
        SELECT f.url, f.config_url, f.name, f.country, f.lang, f.interval,
               f.enabled = 1 AND f.disabled_reason IS NULL AS enabled,
               {FEED_STATUS_SQL} AS status,
               f.last_ok, f.last_error, f.last_error_at, f.error_since, f.last_warning,
               f.error_count, f.disabled_reason, f.retry_after, f.backoff_until, f.next_due,
               f.last_status AS http_status, f.archive,
               (SELECT count(*) FROM item_sources s WHERE s.feed_id = f.id) AS items
        FROM feeds f ORDER BY f.archive, f.name, f.url
        """
    )
    out = []
    for row in rows:
        row["enabled"] = bool(row["enabled"])
        row["archive"] = bool(row["archive"])
        out.append(row)
    return out
