"""What the dashboard pages show: read, shaped into frames, and cached.

Pages call these functions and draw what they return; they hold no SQL and
no pandas. Each loader takes the database path as a string (part of the
cache key), opens the database strictly read-only for that one call and
closes it again. Results are cached for ``TTL_SECONDS``: a rerun (every
widget change) does not hit SQLite, yet the collector's new items show up
within a minute.

Feed text in the returned frames is plain, untrusted text: pages show it
through ``st.dataframe`` (which never renders markup) or ``escape_markdown``,
never with ``unsafe_allow_html``. Links are ``http(s)`` or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils
import streamlit as st

from indicators import (
    DEFAULT_BASELINE,
    SEEDED_DYADS,
    Dyad,
    Granularity,
    aggregate,
    compare_windows,
    detect_spikes,
    load_daily_series,
    next_period_start,
    period_start,
)
from storage import queries as sq
from storage.db import open_database_readonly
from tensionwatch.config import load_settings

TTL_SECONDS = 60

# Periods end on the day of the latest item ("as of"), not today: an archive
# or a paused collector still shows its data.
PERIODS: dict[str, int | None] = {
    "Last 90 days": 90,
    "Last 6 months": 183,
    "Last year": 365,
    "Last 2 years": 730,
    "All": None,
}
DEFAULT_PERIOD = "All"  # a new user sees the whole archive, its 2020-2021 episodes included
GRANULARITIES: dict[str, Granularity] = {"Day": "day", "Week": "week", "Month": "month"}
DEFAULT_GRANULARITY = "Week"
METRIC_DAYS = 30  # the metric row: the last 30 days ...
METRIC_HISTORY = 6  # ... against the median of the six 30-day windows before them
ITEM_LIMIT = 500

# CommonMark lets a backslash escape any ASCII punctuation: escaping all of it
# turns markup, links, images, HTML and Streamlit's $LaTeX$ into plain text.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def database_path() -> Path:
    """Where the database is; the one place the dashboard learns it (from the same settings
    as every command: TENSIONWATCH_DATABASE, the config file, or the default)."""
    return load_settings().database


def escape_markdown(text: str) -> str:
    """``text`` as literal characters in ``st.markdown`` and friends (one line)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


@contextmanager
def _reading(path: str) -> Iterator[sqlite_utils.Database]:
    db = open_database_readonly(path)
    try:
        yield db
    finally:
        db.conn.close()


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _timestamp(moment: date) -> pd.Timestamp:
    return pd.Timestamp(moment.isoformat()).tz_localize("UTC")


# --- the whole database ------------------------------------------------------------------------


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_summary(path: str) -> sq.ItemSummary:
    with _reading(path) as db:
        return sq.summarise_items(db)


@dataclass(frozen=True)
class FilterOptions:
    dyads: tuple[str, ...]  # seeded first, then every other pair of actors in use
    actors: tuple[str, ...]  # most items first
    categories: tuple[str, ...]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_filter_options(path: str) -> FilterOptions:
    with _reading(path) as db:
        actors = tuple(t.tag for t in sq.list_tag_counts(db, "actor"))
        categories = tuple(t.tag for t in sq.list_tag_counts(db, "category"))
    seeded = [d.id for d in SEEDED_DYADS]
    seeded_pairs = {frozenset((d.a, d.b)) for d in SEEDED_DYADS}
    others = [
        f"{a}-{b}"
        for a, b in combinations(sorted(actors), 2)
        if frozenset((a, b)) not in seeded_pairs
    ]
    return FilterOptions(tuple(seeded + others), actors, categories)


# --- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DyadMetric:
    """A dyad's net index over the last ``METRIC_DAYS`` days against its usual level."""

    dyad: str
    current: float
    expected: float | None  # median of earlier windows; None without enough history
    windows: int
    items: int

    @property
    def delta(self) -> float | None:
        return None if self.expected is None else self.current - self.expected


@dataclass(frozen=True)
class Overview:
    start: date
    end: date
    granularity: Granularity
    chart: pd.DataFrame  # one row per dyad and period: see ``load_overview``
    spikes: pd.DataFrame  # one row per spike day, newest first
    metrics: tuple[DyadMetric, ...]


def period_bounds(summary: sq.ItemSummary, period_days: int | None) -> tuple[date, date]:
    """The days shown: ``period_days`` up to the latest item's day, never before the first."""
    if summary.first_published is None or summary.last_published is None:
        today = datetime.now(UTC).date()
        return today, today
    first, end = summary.first_published.date(), summary.last_published.date()
    start = first if period_days is None else end - timedelta(days=period_days - 1)
    return max(start, first), end


def period_label(start: date, granularity: Granularity) -> str:
    if granularity == "month":
        return start.strftime("%B %Y")
    if granularity == "week":
        return f"week of {start:%d %b %Y}"
    return f"{start:%a %d %b %Y}"


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Computing the indicators…")
def load_overview(
    path: str, dyads: tuple[str, ...], period_days: int | None, granularity: Granularity
) -> Overview:
    """Series, spikes and metrics of ``dyads`` over the chosen period.

    ``chart`` columns: dyad, period (UTC timestamp of the period's first
    day), start (the same as ``YYYY-MM-DD``), label, days, items,
    escalation, deescalation, net, spike_days, spike_note. Spikes are found
    on the daily net index (see ``indicators.baseline``), with the days
    before the period as warm-up, and marked on the period that holds them.
    """
    chosen = [Dyad.parse(d) for d in dyads]
    with _reading(path) as db:
        summary = sq.summarise_items(db)
        start, end = period_bounds(summary, period_days)
        first = summary.first_published.date() if summary.first_published else start
        history_from = min(
            start - timedelta(days=DEFAULT_BASELINE.window),
            end - timedelta(days=METRIC_DAYS * (METRIC_HISTORY + 1) - 1),
        )
        series = load_daily_series(db, chosen, max(first, history_from), end)

    chart_rows: list[dict[str, Any]] = []
    spike_rows: list[dict[str, Any]] = []
    metrics = []
    for dyad in chosen:
        points = series[dyad]
        shown = [p for p in points if p.day >= start]
        spikes = [s for s in detect_spikes(points, "net") if s.day >= start]
        spikes_by_period: dict[date, list[str]] = {}
        for spike in spikes:
            note = f"{spike.day:%d %b}: {spike.observed:+.0f} (expected {spike.expected:+.0f})"
            spikes_by_period.setdefault(period_start(spike.day, granularity), []).append(note)
            spike_rows.append(
                {
                    "dyad": dyad.id,
                    "day": _timestamp(spike.day),
                    "observed": spike.observed,
                    "expected": spike.expected,
                    "upper": spike.upper,
                    "score": spike.score,
                }
            )
        for period in aggregate(shown, granularity):
            notes = spikes_by_period.get(period.start, [])
            chart_rows.append(
                {
                    "dyad": dyad.id,
                    "period": _timestamp(period.start),
                    "start": period.start.isoformat(),
                    "label": period_label(period.start, granularity),
                    "days": period.days,
                    "items": period.items,
                    "escalation": period.escalation,
                    "deescalation": period.deescalation,
                    "net": period.net,
                    "spike_days": len(notes),
                    "spike_note": "; ".join(notes),
                }
            )
        comparison = compare_windows(points, "net", METRIC_DAYS, METRIC_HISTORY)
        recent_items = sum(p.items for p in points[-METRIC_DAYS:])
        metrics.append(
            DyadMetric(
                dyad.id,
                comparison.current,
                comparison.expected,
                comparison.windows,
                recent_items,
            )
        )
    chart = pd.DataFrame(chart_rows, columns=list(_CHART_COLUMNS))
    spikes_frame = pd.DataFrame(spike_rows, columns=list(_SPIKE_COLUMNS))
    spikes_frame = spikes_frame.sort_values(["day", "dyad"], ascending=[False, True])
    return Overview(
        start, end, granularity, chart, spikes_frame.reset_index(drop=True), tuple(metrics)
    )


_CHART_COLUMNS = (
    "dyad",
    "period",
    "start",
    "label",
    "days",
    "items",
    "escalation",
    "deescalation",
    "net",
    "spike_days",
    "spike_note",
)
_SPIKE_COLUMNS = ("dyad", "day", "observed", "expected", "upper", "score")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_category_breakdown(
    path: str, dyad: str, start: date, end: date, granularity: Granularity
) -> pd.DataFrame:
    """Per period and category: summed weight and items, for one dyad.

    Columns: period (UTC timestamp), start, category, weight, items.
    """
    pair = Dyad.parse(dyad)
    with _reading(path) as db:
        rows = sq.list_category_day_totals(
            db, _utc_midnight(start), _utc_midnight(end + timedelta(days=1)), (pair.a, pair.b)
        )
    sums: dict[tuple[date, str], list[float]] = {}
    for row in rows:
        key = (period_start(row.day, granularity), row.category)
        total = sums.setdefault(key, [0.0, 0.0])
        total[0] += row.weight
        total[1] += row.items
    return pd.DataFrame(
        [
            {
                "period": _timestamp(first),
                "start": first.isoformat(),
                "category": category,
                "weight": weight,
                "items": int(items),
            }
            for (first, category), (weight, items) in sorted(sums.items())
        ],
        columns=["period", "start", "category", "weight", "items"],
    )


def chart_pick(event: Mapping[str, Any] | None) -> tuple[str, date] | None:
    """The (dyad, period start) clicked on the escalation chart, if any."""
    selection = (event or {}).get("selection") or {}
    picked = selection.get("pick") or []
    if not picked:
        return None
    point = picked[0]
    try:
        return Dyad.parse(str(point["dyad"])).id, date.fromisoformat(str(point["start"]))
    except (KeyError, ValueError):
        return None


def selected_rows(event: Mapping[str, Any] | None) -> list[int]:
    """Row positions selected in an ``st.dataframe(on_select=...)``."""
    selection = (event or {}).get("selection") or {}
    return [int(row) for row in selection.get("rows") or []]


def spike_at(spikes: pd.DataFrame, row: int) -> tuple[str, date] | None:
    """The (dyad, day) of the spike shown on ``row`` of the spikes table."""
    if not 0 <= row < len(spikes):
        return None
    record = spikes.iloc[row]
    return str(record["dyad"]), record["day"].date()


def period_end(start: date, granularity: Granularity) -> date:
    return next_period_start(start, granularity)


# --- items -------------------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "published",
    "outlet",
    "title",
    "actors",
    "categories",
    "index",
    "link",
    "outlets",
    "id",
)


def _items_frame(rows: Sequence[sq.ItemRow]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "published": pd.Timestamp(r.published),
                "outlet": r.outlet,
                "title": r.title,
                "actors": list(r.actors),
                "categories": list(r.categories),
                "index": r.index,
                "link": r.url,
                "outlets": r.outlets,
                "id": r.id,
            }
            for r in rows
        ],
        columns=list(_ITEM_COLUMNS),
    )
    return frame


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_items(
    path: str,
    *,
    dyad: str | None = None,
    actors: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    search: str = "",
    since: date | None = None,
    until: date | None = None,
    limit: int = ITEM_LIMIT,
) -> pd.DataFrame:
    """The newest matching items. ``until`` is exclusive. Columns: published (UTC),
    outlet, title, actors, categories, index, link (http(s) or None), outlets, id."""
    pair = Dyad.parse(dyad) if dyad else None
    spec = sq.ItemFilter(
        dyad=(pair.a, pair.b) if pair else None,
        actors=actors,
        categories=categories,
        search=search,
        since=_utc_midnight(since) if since else None,
        until=_utc_midnight(until) if until else None,
        limit=limit,
    )
    with _reading(path) as db:
        return _items_frame(sq.list_items(db, spec))


def item_id_at(items: pd.DataFrame, row: int) -> str | None:
    return str(items.iloc[row]["id"]) if 0 <= row < len(items) else None


@dataclass(frozen=True)
class ItemDetail:
    item: sq.ItemRow
    evidence: pd.DataFrame  # one row per tag and match: see ``load_item_detail``


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_item_detail(path: str, item_id: str) -> ItemDetail | None:
    """An item and why it is tagged: one row per rule firing, and one for a label with none.

    Evidence columns: kind, tag, weight, rule, field, text, span, rules_version.
    """
    with _reading(path) as db:
        item = sq.get_item(db, item_id)
        if item is None:
            return None
        tags = sq.list_item_tags(db, item_id)
        matches = sq.list_tag_matches(db, item_id)
    by_tag: dict[tuple[str, str], list[sq.TagMatchRow]] = {}
    for firing in matches:
        by_tag.setdefault((firing.kind, firing.tag), []).append(firing)
    rows = []
    for tag in tags:
        fired: list[sq.TagMatchRow | None] = [*by_tag.pop((tag.kind, tag.tag), [])]
        for match in fired or [None]:
            rows.append(
                {
                    "kind": tag.kind,
                    "tag": tag.tag,
                    "weight": tag.weight if tag.kind == "category" else None,
                    "rule": match.rule if match else "",
                    "field": match.field if match else "",
                    "text": match.text if match else "",
                    "span": f"{match.start}–{match.end}" if match else "",
                    "rules_version": tag.rules_version,
                }
            )
    # rule firings whose label a context check dropped: still worth showing
    for (kind, tag_name), leftovers in by_tag.items():
        for match in leftovers:
            rows.append(
                {
                    "kind": kind,
                    "tag": f"{tag_name} (not kept)",
                    "weight": None,
                    "rule": match.rule,
                    "field": match.field,
                    "text": match.text,
                    "span": f"{match.start}–{match.end}",
                    "rules_version": match.rules_version,
                }
            )
    columns = ["kind", "tag", "weight", "rule", "field", "text", "span", "rules_version"]
    return ItemDetail(item, pd.DataFrame(rows, columns=columns))


# --- feeds -------------------------------------------------------------------------------------


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def load_feed_health(path: str) -> pd.DataFrame:
    """One row per feed. Columns: status, name, url, country, lang, last_ok, last_error,
    error_since, error_count, items, items_7d, last_warning, disabled_reason."""
    now = datetime.now(UTC)
    with _reading(path) as db:
        feeds = sq.list_feed_health(db, now, timedelta(days=7))

    def stamp(moment: datetime | None) -> pd.Timestamp | None:
        return pd.Timestamp(moment) if moment else None

    return pd.DataFrame(
        [
            {
                "status": f.status,
                "name": f.name,
                "url": f.url,
                "country": f.country,
                "lang": f.lang,
                "last_ok": stamp(f.last_ok),
                "last_error": f.last_error or "",
                "error_since": stamp(f.error_since),
                "error_count": f.error_count,
                "items": f.items,
                "items_7d": f.items_recent,
                "last_warning": f.last_warning or "",
                "disabled_reason": f.disabled_reason or "",
            }
            for f in feeds
        ],
        columns=[
            "status",
            "name",
            "url",
            "country",
            "lang",
            "last_ok",
            "last_error",
            "error_since",
            "error_count",
            "items",
            "items_7d",
            "last_warning",
            "disabled_reason",
        ],
    )


def count_statuses(feeds: pd.DataFrame) -> dict[str, int]:
    """How many feeds are in each status, in the order ok, error, disabled, never."""
    counts = feeds["status"].value_counts() if len(feeds) else pd.Series(dtype=int)
    return {status: int(counts.get(status, 0)) for status in sq.FEED_STATUSES}
