"""How the dashboard's tables look: column orders and ``st.column_config`` per table.

Feed text goes into text columns, which Streamlit shows as text, never as
markup. Only the items' ``link`` column is a ``LinkColumn``, and
``dashboard.queries`` fills it with ``http(s)`` URLs or nothing.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

cc = st.column_config

ITEM_ORDER = (
    "published", "outlet", "title", "categories", "index", "story_outlets", "actors", "lang",
    "link",
)  # fmt: skip
ITEM_COLUMNS: dict[str, Any] = {
    "published": cc.DatetimeColumn("Published (UTC)", format="YYYY-MM-DD HH:mm"),
    "outlet": cc.TextColumn("Outlet", width=160),
    "title": cc.TextColumn("Title", width=360),
    "actors": cc.ListColumn("Actors"),
    "categories": cc.ListColumn("Categories", width=220),
    "index": cc.NumberColumn(
        "Index", help="Escalation index: the sum of the item's category weights", format="%+.0f"
    ),
    "story_outlets": cc.NumberColumn(
        "Outlets", help="Distinct outlets that carried this story (near-duplicates included)"
    ),
    "lang": cc.TextColumn("Lang", width="small"),
    "link": cc.LinkColumn("Link", display_text="open ↗", width="small"),
}

EVIDENCE_COLUMNS: dict[str, Any] = {
    "kind": cc.TextColumn("Kind"),
    "tag": cc.TextColumn("Tag"),
    "weight": cc.NumberColumn("Weight", format="%+.0f"),
    "rule": cc.TextColumn("Rule"),
    "field": cc.TextColumn("Field"),
    "text": cc.TextColumn("Matched text", width="medium"),
    "span": cc.TextColumn("Characters"),
    "rules_version": cc.TextColumn("Rules version", width="small"),
}

STORY_COLUMNS: dict[str, Any] = {
    "dyad": cc.TextColumn("Dyad"),
    "first_seen": cc.DatetimeColumn("First seen (UTC)", format="YYYY-MM-DD HH:mm"),
    "title": cc.TextColumn("Story (its first headline)", width="large"),
    "outlets": cc.NumberColumn("Outlets", help="Distinct outlets that carried the story"),
    "items": cc.NumberColumn("Copies", help="Items clustered into this story"),
    "index": cc.NumberColumn("Index", format="%+.0f", help="Sum of the story's category weights"),
}

SPIKE_COLUMNS: dict[str, Any] = {
    "dyad": cc.TextColumn("Dyad"),
    "day": cc.DateColumn("Day (UTC)", format="YYYY-MM-DD"),
    "observed": cc.NumberColumn("Observed", format="%+.0f", help="Net index that day"),
    "expected": cc.NumberColumn("Expected", format="%+.1f", help="Median of the 28 days before"),
    "upper": cc.NumberColumn("Band top", format="%+.1f", help="Expected + 3 robust SDs"),
    "score": cc.NumberColumn("Robust z", format="%.1f"),
}

EPISODE_COLUMNS: dict[str, Any] = {
    "dyad": cc.TextColumn("Dyad"),
    "first": cc.DateColumn("From (UTC)", format="YYYY-MM-DD"),
    "last": cc.DateColumn("To (UTC)", format="YYYY-MM-DD"),
    "spike_days": cc.NumberColumn("Spike days", help="Days above their baseline band"),
    "net": cc.NumberColumn(
        "Net index", format="%+.0f", help="Net escalation index from the first to the last day"
    ),
    "items": cc.NumberColumn("Stories or items", help="From the first to the last day"),
    "peak_day": cc.DateColumn("Peak day", format="YYYY-MM-DD"),
    "peak": cc.NumberColumn("Peak", format="%+.0f", help="Net index on the peak day"),
    "expected": cc.NumberColumn(
        "Expected", format="%+.1f", help="The peak day's baseline: median of the 28 days before"
    ),
    "score": cc.NumberColumn("Robust z", format="%.1f", help="Peak above expected, in robust SDs"),
}

FEED_ORDER = (
    "flag",
    "status",
    "name",
    "items",
    "items_7d",
    "last_ok",
    "median_ms",
    "next_due",
    "error_count",
    "last_error",
    "last_error_at",
    "error_since",
    "disabled_reason",
    "last_warning",
    "country",
    "lang",
    "url",
)
FEED_COLUMNS: dict[str, Any] = {
    "flag": cc.TextColumn(
        "Attention",
        help="failing: the last poll failed · stale: no success for two days · off: disabled",
        width="small",
    ),
    "median_ms": cc.NumberColumn(
        "Median response", help="Median of the last 50 polls", format="%.0f ms"
    ),
    "next_due": cc.DatetimeColumn("Next poll (UTC)", format="YYYY-MM-DD HH:mm"),
    "last_error_at": cc.DatetimeColumn("Last error at (UTC)", format="YYYY-MM-DD HH:mm"),
    "status": cc.TextColumn("Status", help="ok, error, disabled or never (not polled yet)"),
    "name": cc.TextColumn("Name"),
    "url": cc.TextColumn("URL or file", width="medium"),
    "country": cc.TextColumn("Country", width="small"),
    "lang": cc.TextColumn("Lang", width="small"),
    "last_ok": cc.DatetimeColumn("Last OK (UTC)", format="YYYY-MM-DD HH:mm"),
    "last_error": cc.TextColumn("Last error", width="medium"),
    "error_since": cc.DatetimeColumn("Failing since (UTC)", format="YYYY-MM-DD HH:mm"),
    "error_count": cc.NumberColumn("Errors in a row"),
    "items": cc.NumberColumn("Items"),
    "items_7d": cc.NumberColumn("Items, last 7 days", help="Published in the last 7 days"),
    "last_warning": cc.TextColumn("Last warning"),
    "disabled_reason": cc.TextColumn("Disabled because"),
}

ALERT_ORDER = (
    "fired", "rule", "series", "observed", "expected", "items", "delivery", "title", "period",
    "error", "attempts",
)  # fmt: skip
ALERT_COLUMNS: dict[str, Any] = {
    "fired": cc.DatetimeColumn("Fired (UTC)", format="YYYY-MM-DD HH:mm"),
    "rule": cc.TextColumn("Rule"),
    "kind": cc.TextColumn("Kind", width="small"),
    "series": cc.TextColumn("Watching", help="The series the rule watched"),
    "title": cc.TextColumn("Alert", width="large"),
    "observed": cc.NumberColumn("Observed", format="%+.0f", help="The value that fired it"),
    "expected": cc.NumberColumn(
        "Expected", format="%+.1f", help="Its baseline (spike) or the threshold"
    ),
    "period": cc.TextColumn("Over", help="The window the numbers cover"),
    "items": cc.NumberColumn("Items", help="Items behind the alert"),
    "delivery": cc.TextColumn(
        "Delivery",
        help="sent · written to outbox (no SMTP server) · held for quiet hours · queued · "
        "retrying · unknown (the connection broke after sending: never resent) · failed",
    ),
    "error": cc.TextColumn("Last delivery error", width="medium"),
    "attempts": cc.NumberColumn("Attempts", width="small"),
}
