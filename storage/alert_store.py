"""Every SQL statement of the alerts: history, outgoing messages, per-rule state, and the
reads the alert rules evaluate.

Tables (migration ``_alerts`` in ``storage.schema``):

- ``alert_history``: one row per alert fired, unique per (rule, series,
  episode), so the same episode can never be recorded, hence sent, twice.
- ``alert_messages``: one row per email, keyed by its Message-ID, written
  *before* the first delivery attempt with the full message bytes; its
  ``status`` is the delivery status (``MESSAGE_STATUSES``). Several alerts
  may share one message (the email sent when quiet hours end).
- ``alert_state``: per rule and series, when it last fired (the cooldown)
  and, for ``match`` rules, the highest item rowid already looked at.

Rows read by the dashboard's Alerts page: ``list_alert_history`` returns
``AlertHistoryRow`` (documented on the class), newest first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.db import from_iso, to_iso, transaction
from storage.queries import _select

if TYPE_CHECKING:
    import sqlite_utils

# held: fired in quiet hours, waiting for them to end (no message yet)
# pending: message recorded, not tried yet; deferred: a temporary failure, will be retried
# sending: an attempt is under way (a crash leaves it so: treated as unknown, never resent)
# sent: the server accepted it; unknown: the connection broke after the message was handed
# over, so it may have been accepted: never resent automatically
# failed: permanent failure (5xx, or temporary failures until attempts ran out)
# outbox: no SMTP server configured, written as an .eml file
MESSAGE_STATUSES = ("pending", "sending", "deferred", "sent", "unknown", "failed", "outbox")


@dataclass(frozen=True)
class NewAlert:
    """An alert about to be recorded."""

    rule: str
    kind: str
    series: str
    episode: str
    fired: datetime
    title: str
    observed: float | None
    expected: float | None
    period: str
    detail: str  # JSON object: what the email shows besides the numbers
    item_ids: tuple[str, ...]
    held: bool = False


@dataclass(frozen=True)
class AlertHistoryRow:
    """One alert as the Alerts page shows it.

    ``rule`` and ``kind`` (spike, threshold, match, flatline, digest);
    ``series`` what it watched (``dyad:morocco-algeria``, ``feed:all``...);
    ``episode`` what made it distinct (a day, a feed's silence start...);
    ``fired`` when (UTC); ``title`` the email subject; ``observed`` versus
    ``expected`` over ``period``; ``item_ids`` the items behind it;
    ``delivery_status`` one of ``held`` or ``MESSAGE_STATUSES`` (``none`` if
    no message was made); ``delivery_error`` the last error; ``message_id``
    the email's Message-ID.
    """

    id: int
    rule: str
    kind: str
    series: str
    episode: str
    fired: datetime
    title: str
    observed: float | None
    expected: float | None
    period: str
    detail: dict[str, Any]
    item_ids: tuple[str, ...]
    delivery_status: str
    delivery_error: str | None
    attempts: int
    message_id: str | None


@dataclass(frozen=True)
class MessageRow:
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    status: str
    attempts: int
    error: str | None
    eml_path: str | None


@dataclass(frozen=True)
class AlertState:
    last_fired: datetime | None
    watermark: int | None


@dataclass(frozen=True)
class SeriesDayTotal:
    """Items matching an alert's filter on one UTC day, with their escalation sums."""

    day: str  # YYYY-MM-DD
    items: int
    escalation: float
    deescalation: float


def record_alert(db: sqlite_utils.Database, alert: NewAlert) -> int | None:
    """Insert the alert and stamp the rule's cooldown in one transaction.

    Returns the new row id, or ``None`` when this (rule, series, episode)
    was already recorded (then nothing changes).
    """
    with transaction(db):
        cursor = db.execute(
            """INSERT OR IGNORE INTO alert_history (rule, kind, series, episode, fired, title,
                   observed, expected, period, detail, item_ids, held)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                alert.rule,
                alert.kind,
                alert.series,
                alert.episode,
                to_iso(alert.fired),
                alert.title,
                alert.observed,
                alert.expected,
                alert.period,
                alert.detail,
                json.dumps(list(alert.item_ids)),
                int(alert.held),
            ],
        )
        if not cursor.rowcount:
            return None
        db.execute(
            """INSERT INTO alert_state (rule, series, last_fired) VALUES (?, ?, ?)
               ON CONFLICT (rule, series) DO UPDATE SET last_fired = excluded.last_fired""",
            [alert.rule, alert.series, to_iso(alert.fired)],
        )
        return cursor.lastrowid


def get_alert_state(db: sqlite_utils.Database, rule: str, series: str) -> AlertState:
    rows = _select(
        db,
        "SELECT last_fired, watermark FROM alert_state WHERE rule = ? AND series = ?",
        [rule, series],
    )
    if not rows:
        return AlertState(None, None)
    fired, mark = rows[0]
    return AlertState(from_iso(fired) if fired else None, None if mark is None else int(mark))


def set_watermark(db: sqlite_utils.Database, rule: str, series: str, watermark: int) -> None:
    db.execute(
        """INSERT INTO alert_state (rule, series, watermark) VALUES (?, ?, ?)
           ON CONFLICT (rule, series) DO UPDATE SET watermark = excluded.watermark""",
        [rule, series, watermark],
    )


def has_episode(db: sqlite_utils.Database, rule: str, series: str, episode: str) -> bool:
    rows = _select(
        db,
        "SELECT 1 FROM alert_history WHERE rule = ? AND series = ? AND episode = ?",
        [rule, series, episode],
    )
    return bool(rows)


def record_message(
    db: sqlite_utils.Database,
    alert_ids: Sequence[int],
    message_id: str,
    recipients: Sequence[str],
    subject: str,
    raw: bytes,
    status: str,
    now: datetime,
    eml_path: str | None = None,
) -> None:
    """Store an email (before any attempt to send it) and link its alerts to it."""
    with transaction(db):
        db.execute(
            """INSERT INTO alert_messages (message_id, recipients, subject, raw, status,
                   created, updated, next_attempt, eml_path)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                message_id,
                json.dumps(list(recipients)),
                subject,
                raw,
                status,
                to_iso(now),
                to_iso(now),
                to_iso(now),
                eml_path,
            ],
        )
        for alert_id in alert_ids:
            db.execute(
                "UPDATE alert_history SET message_id = ?, held = 0 WHERE id = ?",
                [message_id, alert_id],
            )


def update_message(
    db: sqlite_utils.Database,
    message_id: str,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    attempted: bool = False,
    next_attempt: datetime | None = None,
) -> None:
    if status not in MESSAGE_STATUSES:
        raise ValueError(f"unknown message status {status!r}")
    db.execute(
        """UPDATE alert_messages SET status = ?, updated = ?, error = coalesce(?, error),
               attempts = attempts + ?, next_attempt = ?
           WHERE message_id = ?""",
        [
            status,
            to_iso(now),
            error,
            int(attempted),
            to_iso(next_attempt) if next_attempt else None,
            message_id,
        ],
    )


def claim_message(db: sqlite_utils.Database, message_id: str, now: datetime) -> bool:
    """Mark a waiting message ``sending``; ``False`` when another evaluation got it first
    (one atomic UPDATE, so two evaluations can never both send it)."""
    cursor = db.execute(
        """UPDATE alert_messages SET status = 'sending', updated = ?
           WHERE message_id = ? AND status IN ('pending', 'deferred')""",
        [to_iso(now), message_id],
    )
    return cursor.rowcount == 1


def _message(row: Sequence[Any]) -> MessageRow:
    return MessageRow(
        row[0],
        tuple(json.loads(row[1])),
        row[2],
        bytes(row[3]),
        row[4],
        int(row[5]),
        row[6],
        row[7],
    )


_MESSAGE_COLUMNS = "message_id, recipients, subject, raw, status, attempts, error, eml_path"


def get_message(db: sqlite_utils.Database, message_id: str) -> MessageRow | None:
    rows = _select(
        db, f"SELECT {_MESSAGE_COLUMNS} FROM alert_messages WHERE message_id = ?", [message_id]
    )
    return _message(rows[0]) if rows else None


def list_due_messages(db: sqlite_utils.Database, now: datetime) -> list[MessageRow]:
    """Messages waiting for a (first or next) attempt whose time has come, oldest first."""
    rows = _select(
        db,
        f"""SELECT {_MESSAGE_COLUMNS} FROM alert_messages
            WHERE status IN ('pending', 'deferred') AND coalesce(next_attempt, '') <= ?
            ORDER BY created, message_id""",
        [to_iso(now)],
    )
    return [_message(row) for row in rows]


def mark_interrupted_sends(db: sqlite_utils.Database, now: datetime) -> int:
    """Messages left ``sending`` by a process that died mid-attempt become ``unknown``:
    the server may have accepted them, so they are never sent again automatically."""
    cursor = db.execute(
        """UPDATE alert_messages SET status = 'unknown', updated = ?,
               error = 'interrupted during delivery: may or may not have been accepted'
           WHERE status = 'sending'""",
        [to_iso(now)],
    )
    return cursor.rowcount


_HISTORY_COLUMNS = """
    h.id, h.rule, h.kind, h.series, h.episode, h.fired, h.title, h.observed, h.expected,
    h.period, h.detail, h.item_ids,
    CASE WHEN h.message_id IS NOT NULL THEN coalesce(m.status, 'none')
         WHEN h.held THEN 'held' ELSE 'none' END,
    m.error, coalesce(m.attempts, 0), h.message_id
"""


def _history(row: Sequence[Any]) -> AlertHistoryRow:
    return AlertHistoryRow(
        id=int(row[0]),
        rule=row[1],
        kind=row[2],
        series=row[3],
        episode=row[4],
        fired=from_iso(row[5]),
        title=row[6],
        observed=row[7],
        expected=row[8],
        period=row[9],
        detail=json.loads(row[10]),
        item_ids=tuple(json.loads(row[11])),
        delivery_status=row[12],
        delivery_error=row[13],
        attempts=int(row[14]),
        message_id=row[15],
    )


def list_alert_history(
    db: sqlite_utils.Database,
    limit: int = 100,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AlertHistoryRow]:
    """Alerts fired in ``[since, until)`` (both optional), newest first."""
    rows = _select(
        db,
        f"""SELECT {_HISTORY_COLUMNS}
            FROM alert_history h LEFT JOIN alert_messages m ON m.message_id = h.message_id
            WHERE h.fired >= ? AND h.fired < ?
            ORDER BY h.fired DESC, h.id DESC LIMIT ?""",
        [
            to_iso(since) if since else "",
            to_iso(until) if until else "9999",
            max(0, limit),
        ],
    )
    return [_history(row) for row in rows]


def get_alerts(db: sqlite_utils.Database, ids: Sequence[int]) -> list[AlertHistoryRow]:
    """The alerts with these row ids, in the order given."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = _select(
        db,
        f"""SELECT {_HISTORY_COLUMNS}
            FROM alert_history h LEFT JOIN alert_messages m ON m.message_id = h.message_id
            WHERE h.id IN ({marks})""",
        list(ids),
    )
    by_id = {row.id: row for row in map(_history, rows)}
    return [by_id[i] for i in ids if i in by_id]


def list_held_alerts(db: sqlite_utils.Database) -> list[AlertHistoryRow]:
    """Alerts held during quiet hours and not yet put in a message, oldest first."""
    rows = _select(
        db,
        f"""SELECT {_HISTORY_COLUMNS}
            FROM alert_history h LEFT JOIN alert_messages m ON m.message_id = h.message_id
            WHERE h.held = 1 AND h.message_id IS NULL ORDER BY h.fired, h.id""",
    )
    return [_history(row) for row in rows]


def _item_filter(actors: Sequence[str], categories: Sequence[str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for actor in dict.fromkeys(actors):
        clauses.append(
            "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id "
            "AND t.kind = 'actor' AND t.tag = ?)"
        )
        params.append(actor)
    if categories:
        marks = ", ".join("?" for _ in categories)
        clauses.append(
            "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id "
            f"AND t.kind = 'category' AND t.tag IN ({marks}))"
        )
        params += list(categories)
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def list_series_day_totals(
    db: sqlite_utils.Database,
    actors: Sequence[str],
    categories: Sequence[str],
    since: datetime,
    until: datetime,
) -> list[SeriesDayTotal]:
    """Per UTC day, items published in ``[since, until)`` that carry every actor of ``actors``
    and (if given) one of ``categories``; escalation sums over those categories only when
    given, else over all the item's categories. Days without items are absent."""
    where, params = _item_filter(actors, categories)
    weight_filter = ""
    weight_params: list[Any] = []
    if categories:
        weight_filter = f" AND tag IN ({', '.join('?' for _ in categories)})"
        weight_params = list(categories)
    rows = _select(
        db,
        f"""
        WITH scores AS (
            SELECT item_id,
                   sum(CASE WHEN weight > 0 THEN weight ELSE 0 END) AS up,
                   sum(CASE WHEN weight < 0 THEN weight ELSE 0 END) AS down
            FROM item_tags WHERE kind = 'category' {weight_filter} GROUP BY item_id)
        SELECT substr(i.published, 1, 10) AS day, count(*),
               coalesce(sum(s.up), 0), coalesce(sum(s.down), 0)
        FROM items i LEFT JOIN scores s ON s.item_id = i.id
        WHERE i.published >= ? AND i.published < ? {where}
        GROUP BY day ORDER BY day
        """,
        [*weight_params, to_iso(since), to_iso(until), *params],
    )
    return [SeriesDayTotal(day, int(n), float(up), float(down)) for day, n, up, down in rows]


def list_matching_item_ids(
    db: sqlite_utils.Database,
    actors: Sequence[str],
    categories: Sequence[str],
    since: datetime,
    until: datetime,
    limit: int = 10_000,
) -> list[str]:
    """Ids of items published in ``[since, until)`` matching the filter, highest index first."""
    where, params = _item_filter(actors, categories)
    rows = _select(
        db,
        f"""SELECT i.id FROM items i
            WHERE i.published >= ? AND i.published < ? {where}
            ORDER BY (SELECT coalesce(sum(weight), 0) FROM item_tags t
                      WHERE t.item_id = i.id AND t.kind = 'category') DESC,
                     (SELECT count(*) FROM item_sources s WHERE s.item_id = i.id) DESC,
                     i.published DESC, i.id
            LIMIT ?""",
        [to_iso(since), to_iso(until), *params, limit],
    )
    return [row[0] for row in rows]


def max_item_rowid(db: sqlite_utils.Database) -> int:
    return int(_select(db, "SELECT coalesce(max(rowid), 0) FROM items")[0][0])


def list_new_item_ids(
    db: sqlite_utils.Database,
    after_rowid: int,
    up_to_rowid: int,
    actors: Sequence[str],
    categories: Sequence[str],
    published_since: datetime,
) -> list[str]:
    """Items stored after ``after_rowid`` up to ``up_to_rowid`` (rowids only grow: items are
    never deleted), published since ``published_since``, matching the filter, in order."""
    where, params = _item_filter(actors, categories)
    rows = _select(
        db,
        f"""SELECT i.id FROM items i
            WHERE i.rowid > ? AND i.rowid <= ? AND i.published >= ? {where}
            ORDER BY i.rowid""",
        [after_rowid, up_to_rowid, to_iso(published_since), *params],
    )
    return [row[0] for row in rows]


def last_item_seen(db: sqlite_utils.Database, feed_url: str | None) -> datetime | None:
    """When ``feed_url`` (or, with ``None``, any enabled non-archive feed) last brought an
    item; the feed's creation time when it never did; ``None`` when there is no such feed."""
    feed_clause = "f.url = ? OR f.config_url = ?" if feed_url else "f.enabled = 1 AND f.archive = 0"
    params = [feed_url, feed_url] if feed_url else []
    rows = _select(
        db,
        f"""SELECT max(coalesce(
                (SELECT max(s.first_seen) FROM item_sources s WHERE s.feed_id = f.id),
                f.created))
            FROM feeds f WHERE {feed_clause}""",
        params,
    )
    value = rows[0][0] if rows else None
    return from_iso(value) if value else None
