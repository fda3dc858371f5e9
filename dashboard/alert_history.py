"""What the Alerts page shows: the alerts fired, newest first, with their delivery.

The rows come from ``storage.alert_store.list_alert_history`` (the alerts'
own read, documented on ``AlertHistoryRow``), shaped into one frame and
cached under the **alert version** (``storage.queries.get_alert_version``):
a new alert or a delivery status that moves refreshes the page within
``VERSION_TTL`` seconds, without invalidating the charts' caches.

Alert titles and reasons may quote feed text: the page shows them through
``st.dataframe`` or ``escape_markdown`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries import CACHE_TTL, VERSION_TTL, reading
from storage import queries as sq
from storage.alert_store import list_alert_history

ALERT_LIMIT = 1000  # newest alerts shown

# Each delivery status as the page words it, and whether it needs a look.
DELIVERY: dict[str, tuple[str, str]] = {
    "sent": ("sent", "ok"),
    "outbox": ("written to outbox", "ok"),
    "none": ("no email", "ok"),
    "held": ("held for quiet hours", "waiting"),
    "pending": ("queued", "waiting"),
    "sending": ("being sent", "waiting"),
    "deferred": ("retrying", "waiting"),
    "unknown": ("unknown: check the mailbox", "attention"),
    "failed": ("failed", "attention"),
}
ALERT_COLUMNS = (
    "fired", "rule", "kind", "series", "title", "observed", "expected", "period", "items",
    "delivery", "status", "error", "attempts", "message_id", "id",
)  # fmt: skip


@st.cache_data(ttl=VERSION_TTL, show_spinner=False)
def load_alert_version(path: str) -> str:
    with reading(path) as db:
        return sq.get_alert_version(db)


@dataclass(frozen=True)
class AlertDetail:
    """What one alert says besides its row: its reasons and the items behind it."""

    title: str
    why: tuple[str, ...]
    item_ids: tuple[str, ...]


def delivery_label(status: str) -> str:
    return DELIVERY.get(status, (status, "attention"))[0]


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_alerts(
    path: str, alert_version: str, limit: int = ALERT_LIMIT
) -> tuple[pd.DataFrame, dict[int, AlertDetail]]:
    """The newest ``limit`` alerts as a frame (``ALERT_COLUMNS``, fired as UTC timestamps)
    and, per alert id, its reasons and item ids."""
    with reading(path) as db:
        rows = list_alert_history(db, limit=limit)
    frame = pd.DataFrame(
        [
            {
                "fired": pd.Timestamp(row.fired),
                "rule": row.rule,
                "kind": row.kind,
                "series": row.series,
                "title": row.title,
                "observed": _number(row.observed),
                "expected": _number(row.expected),
                "period": row.period,
                "items": len(row.item_ids),
                "delivery": delivery_label(row.delivery_status),
                "status": row.delivery_status,
                "error": row.delivery_error or "",
                "attempts": row.attempts,
                "message_id": row.message_id or "",
                "id": row.id,
            }
            for row in rows
        ],
        columns=list(ALERT_COLUMNS),
    )
    details = {row.id: AlertDetail(row.title, _why(row.detail), row.item_ids) for row in rows}
    return frame, details


def _why(detail: dict[str, Any]) -> tuple[str, ...]:
    lines = detail.get("why") or []
    return tuple(str(line) for line in lines) if isinstance(lines, list) else (str(lines),)


def count_deliveries(alerts: pd.DataFrame) -> dict[str, int]:
    """How many alerts are delivered (ok), on their way (waiting) or need a look."""
    counts = {"ok": 0, "waiting": 0, "attention": 0}
    for status in alerts["status"]:
        counts[DELIVERY.get(str(status), ("", "attention"))[1]] += 1
    return counts


def filter_alerts(
    alerts: pd.DataFrame, rules: Sequence[str], statuses: Sequence[str]
) -> pd.DataFrame:
    """The alerts of any of ``rules`` whose delivery reads as any of ``statuses``
    (empty: no filter), row positions renumbered."""
    shown = alerts
    if rules:
        shown = shown[shown["rule"].isin(list(rules))]
    if statuses:
        shown = shown[shown["delivery"].isin(list(statuses))]
    return shown.reset_index(drop=True)


def alert_id_at(alerts: pd.DataFrame, row: int) -> int | None:
    return int(alerts.iloc[row]["id"]) if 0 <= row < len(alerts) else None
