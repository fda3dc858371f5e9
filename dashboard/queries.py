"""What the dashboard pages show: read, shaped into frames, and cached.

Pages call these functions and draw what they return; they hold no SQL and
no pandas. Each loader takes the database path as a string and the
database's **data version** (``data_version``): both are part of the cache
key, so a cached answer is reused on every rerun (every widget change)
until the collector stores something or refreshes the aggregates, and then
recomputed at once. The version itself is four index look-ups, cached for
``VERSION_TTL`` seconds. Each loader opens the database strictly read-only
for that one call and closes it again; the dashboard never writes, and
never maintains the aggregates (``storage.aggregates`` does, in the
collector).

Series come from the pre-aggregated daily tables (``indicators.aggregated``),
per story by default; only the Items list and one item's evidence read
the raw tables, through indexes and FTS5.

Feed text in the returned frames is plain, untrusted text: pages show it
through ``st.dataframe`` (which never renders markup) or ``markup.escape_markdown``,
never with ``unsafe_allow_html``. Links are ``http(s)`` or ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import streamlit as st

from dashboard.markup import highlight
from indicators import (
    DEFAULT_BASELINE,
    SEEDED_DYADS,
    Baseline,
    DailyPoint,
    Dyad,
    Granularity,
    Kind,
    PeriodPoint,
    Unit,
    compare_windows,
    days_between,
    detect_spikes,
    group_episodes,
    key_of,
    load_breakdown_periods,
    load_hourly,
    load_period_series,
    load_series,
    next_period_start,
    per_hundred,
    period_band,
    period_spans,
    period_start,
    rolling_baseline,
)
from indicators.events import events_between, load_calendar
from storage import queries as sq
from storage.db import open_database_readonly
from tensionwatch import paths
from tensionwatch.config import load_settings

if TYPE_CHECKING:
    import sqlite_utils

VERSION_TTL = 2  # seconds a data version is trusted before it is read again
CACHE_TTL = 3600  # a safety net: the data version already invalidates on every write

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
UNITS: dict[str, Unit] = {"Stories": "story", "Items": "item"}
DEFAULT_UNIT = "Stories"
METRIC_DAYS = 7  # the metric row: the last 7 days ...
METRIC_HISTORY = 4  # ... against the median of the four 7-day windows before (28 days)
SPARK_DAYS = 56
ITEM_LIMIT = 500
TOP_STORIES = 3


def database_path() -> Path:
    """Where the database is; the one place the dashboard learns it (from the same settings
    as every command: TENSIONWATCH_DATABASE, the config file, or the default)."""
    return load_settings().database


@contextmanager
def reading(path: str) -> Iterator[sqlite_utils.Database]:
    """The database, strictly read-only, for one call; closed afterwards."""
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


@st.cache_data(ttl=VERSION_TTL, show_spinner=False)
def load_data_version(path: str) -> str:
    """``aggregates.items.fetches.pending``: changes whenever an answer may change."""
    with reading(path) as db:
        v = sq.get_data_version(db)
    return f"{v.aggregates}.{v.items}.{v.fetches}.{v.pending}"


def pending_items(version: str) -> int:
    """Items stored but not yet in the aggregates (the collector refreshes them)."""
    return int(version.rsplit(".", 1)[1])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_summary(path: str, version: str) -> sq.ItemSummary:
    with reading(path) as db:
        return sq.summarise_items(db)


@dataclass(frozen=True)
class FilterOptions:
    dyads: tuple[str, ...]  # seeded first, then every other pair of actors in use
    actors: tuple[str, ...]  # most items first
    categories: tuple[str, ...]
    feeds: tuple[str, ...]
    langs: tuple[str, ...]


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_filter_options(path: str, version: str) -> FilterOptions:
    with reading(path) as db:
        actors = tuple(t.tag for t in sq.list_aggregate_keys(db, "actor"))
        categories = tuple(t.tag for t in sq.list_aggregate_keys(db, "category"))
        feeds = tuple(sq.list_feed_names(db))
        langs = tuple(sq.list_languages(db))
    seeded = [d.id for d in SEEDED_DYADS]
    seeded_pairs = {frozenset((d.a, d.b)) for d in SEEDED_DYADS}
    others = [
        f"{a}-{b}"
        for a, b in combinations(sorted(actors), 2)
        if frozenset((a, b)) not in seeded_pairs
    ]
    return FilterOptions(tuple(seeded + others), actors, categories, feeds, langs)


def period_bounds(summary: sq.ItemSummary, period_days: int | None) -> tuple[date, date]:
    """The days shown: ``period_days`` up to the latest item's day, never before the first."""
    return span_bounds(summary.first_published, summary.last_published, period_days)


def span_bounds(
    first_published: datetime | None, last_published: datetime | None, period_days: int | None
) -> tuple[date, date]:
    """``period_bounds`` from the first and last publication times."""
    if first_published is None or last_published is None:
        today = datetime.now(UTC).date()
        return today, today
    first, end = first_published.date(), last_published.date()
    start = first if period_days is None else end - timedelta(days=period_days - 1)
    return max(start, first), end


def period_label(start: date, granularity: Granularity) -> str:
    if granularity == "month":
        return start.strftime("%B %Y")
    if granularity == "week":
        return f"week of {start:%d %b %Y}"
    return f"{start:%a %d %b %Y}"


def period_end(start: date, granularity: Granularity) -> date:
    """The first day after the period that begins on ``start`` (an exclusive end)."""
    return next_period_start(start, granularity)


def _periods(
    points: Sequence[DailyPoint],
    granularity: Granularity,
    totals: Sequence[DailyPoint] | None = None,
) -> list[dict[str, Any]]:
    """Daily points summed per period; with ``totals``, per 100 items collected then."""
    groups: dict[date, list[int]] = {}
    for n, point in enumerate(points):
        groups.setdefault(period_start(point.day, granularity), []).append(n)
    rows = []
    for start, members in groups.items():
        items = sum(points[n].items for n in members)
        up = sum(points[n].escalation for n in members)
        down = sum(points[n].deescalation for n in members)
        if totals is not None:
            base = sum(totals[n].items for n in members)
            items_shown: float = per_hundred(items, base)
            up, down = per_hundred(up, base), per_hundred(down, base)
        else:
            items_shown = items
        rows.append(
            {
                "period": _timestamp(start),
                "start": start.isoformat(),
                "label": period_label(start, granularity),
                "days": len(members),
                "items": items_shown,
                "escalation": up,
                "deescalation": down,
                "net": up + down,
            }
        )
    return rows


# --- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DyadRow:
    """A dyad's last ``METRIC_DAYS`` days against its usual level, its sparkline, top stories."""

    dyad: str
    current: float
    expected: float | None  # median of the earlier windows; None without enough history
    windows: int
    items: int
    spark: tuple[float, ...]  # daily net index, last ``SPARK_DAYS`` days
    stories: tuple[sq.StoryRow, ...]

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
    rows: tuple[DyadRow, ...]
    episodes: pd.DataFrame = field(default_factory=pd.DataFrame)  # ``EPISODE_COLUMNS``


_CHART_COLUMNS = (
    "dyad", "period", "start", "label", "days", "items", "escalation", "deescalation", "net",
    "expected", "lower", "upper", "spike_days", "spike_note",
)  # fmt: skip
_SPIKE_COLUMNS = ("dyad", "day", "observed", "expected", "upper", "score")
EPISODE_GAP = 7  # spike days at most this far apart are one episode
EPISODE_COLUMNS = (
    "dyad", "first", "last", "spike_days", "net", "items", "peak_day", "peak", "expected", "score",
)  # fmt: skip


@st.cache_data(ttl=CACHE_TTL, show_spinner="Computing the indicators…")
def load_overview(
    path: str,
    version: str,
    dyads: tuple[str, ...],
    period_days: int | None,
    granularity: Granularity,
    unit: Unit = "story",
) -> Overview:
    """Series, baseline band, spikes and the per-dyad rows of ``dyads`` over the period.

    ``chart`` columns: dyad, period (UTC timestamp of the period's first
    day), start (``YYYY-MM-DD``), label, days, items, escalation,
    deescalation, net, expected / lower / upper (the baseline band of the
    period: ``indicators.period_band`` of its days' baselines), spike_days,
    spike_note. Spikes are found on the daily
    net index, with the 28 days before the period as warm-up.
    """
    chosen = [Dyad.parse(d) for d in dyads]
    with reading(path) as db:
        first_published, last_published = sq.get_published_span(db)
        start, end = span_bounds(first_published, last_published, period_days)
        first = first_published.date() if first_published else start
        history_from = max(
            first,
            min(
                start - timedelta(days=DEFAULT_BASELINE.window),
                end - timedelta(days=METRIC_DAYS * (METRIC_HISTORY + 1) + SPARK_DAYS),
            ),
        )
        keys = [key_of(d) for d in chosen]
        series = load_series(db, "dyad", keys, history_from, end, unit)
        week_from = _utc_midnight(end - timedelta(days=METRIC_DAYS - 1))
        week_to = _utc_midnight(end + timedelta(days=1))
        stories = {
            d.id: tuple(sq.list_top_stories(db, (d.a, d.b), week_from, week_to, TOP_STORIES))
            for d in chosen
        }

    chart_rows: list[dict[str, Any]] = []
    spike_rows: list[dict[str, Any]] = []
    episode_rows: list[dict[str, Any]] = []
    rows = []
    for dyad, key in zip(chosen, keys, strict=True):
        points = series[key]
        nets = [p.net for p in points]
        bands = rolling_baseline(nets, DEFAULT_BASELINE)
        offset = next((n for n, p in enumerate(points) if p.day >= start), len(points))
        shown = points[offset:]
        spikes = [s for s in detect_spikes(points, "net", bands=bands) if s.day >= start]
        notes: dict[date, list[str]] = {}
        for spike in spikes:
            note = f"{spike.day:%d %b}: {spike.observed:+.0f} (expected {spike.expected:+.0f})"
            notes.setdefault(period_start(spike.day, granularity), []).append(note)
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
        by_day = {p.day: p for p in points}
        for episode in group_episodes(spikes, EPISODE_GAP):
            days = [by_day[d] for d in days_between(episode.first, episode.last) if d in by_day]
            peak = episode.peak
            episode_rows.append(
                {
                    "dyad": dyad.id,
                    "first": _timestamp(episode.first),
                    "last": _timestamp(episode.last),
                    "spike_days": len(episode.spikes),
                    "net": sum(p.net for p in days),
                    "items": sum(p.items for p in days),
                    "peak_day": _timestamp(peak.day),
                    "peak": peak.observed,
                    "expected": peak.expected,
                    "score": peak.score,
                }
            )
        daily_bands: dict[date, list[Baseline]] = {}
        for point, band in zip(shown, bands[offset:], strict=True):
            if band is not None:
                daily_bands.setdefault(period_start(point.day, granularity), []).append(band)
        band_sums = {
            first_day: period_band(days, DEFAULT_BASELINE)
            for first_day, days in daily_bands.items()
        }
        for row in _periods(shown, granularity):
            first_day = date.fromisoformat(row["start"])
            band_row = band_sums.get(first_day)
            period_notes = notes.get(first_day, [])
            chart_rows.append(
                {
                    "dyad": dyad.id,
                    **row,
                    "expected": band_row.expected if band_row else None,
                    "lower": band_row.lower if band_row else None,
                    "upper": band_row.upper if band_row else None,
                    "spike_days": len(period_notes),
                    "spike_note": "; ".join(period_notes),
                }
            )
        comparison = compare_windows(points, "net", METRIC_DAYS, METRIC_HISTORY)
        rows.append(
            DyadRow(
                dyad.id,
                comparison.current,
                comparison.expected,
                comparison.windows,
                sum(p.items for p in points[-METRIC_DAYS:]),
                tuple(p.net for p in points[-SPARK_DAYS:]),
                stories[dyad.id],
            )
        )
    chart = pd.DataFrame(chart_rows, columns=list(_CHART_COLUMNS))
    spikes_frame = pd.DataFrame(spike_rows, columns=list(_SPIKE_COLUMNS))
    spikes_frame = spikes_frame.sort_values(["day", "dyad"], ascending=[False, True])
    episodes = pd.DataFrame(episode_rows, columns=list(EPISODE_COLUMNS))
    episodes = episodes.sort_values(["first", "dyad"], ascending=[False, True])
    return Overview(
        start,
        end,
        granularity,
        chart,
        spikes_frame.reset_index(drop=True),
        tuple(rows),
        episodes.reset_index(drop=True),
    )


def top_stories_frame(rows: Sequence[DyadRow]) -> pd.DataFrame:
    """The dyads' top stories of the week as one table: dyad, first seen, title, outlets,
    items, index."""
    return pd.DataFrame(
        [
            {
                "dyad": row.dyad,
                "first_seen": pd.Timestamp(story.first_published),
                "title": story.title,
                "outlets": story.outlets,
                "items": story.items,
                "index": story.index,
            }
            for row in rows
            for story in row.stories
        ],
        columns=["dyad", "first_seen", "title", "outlets", "items", "index"],
    )


# --- trends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trends:
    start: date
    end: date
    series: pd.DataFrame  # series, period, start, label, days, items, escalation, ...
    categories: pd.DataFrame  # period, start, label, category, weight, items
    countries: pd.DataFrame  # period, start, label, country, items, net


def _sum_periods(
    groups: Sequence[Sequence[PeriodPoint]], spans: dict[date, int]
) -> list[PeriodPoint]:
    return [
        PeriodPoint(
            first,
            days,
            sum(g[n].items for g in groups),
            sum(g[n].escalation for g in groups),
            sum(g[n].deescalation for g in groups),
        )
        for n, (first, days) in enumerate(spans.items())
    ]


def _period_rows(
    points: Sequence[PeriodPoint],
    heads: Mapping[date, dict[str, Any]],
    totals: Sequence[PeriodPoint] | None = None,
) -> list[dict[str, Any]]:
    """``_periods`` of points already summed per period (``totals``: the same periods)."""
    rows = []
    for n, point in enumerate(points):
        items_shown: float = point.items
        up, down = point.escalation, point.deescalation
        if totals is not None:
            base = totals[n].items
            items_shown = per_hundred(point.items, base)
            up, down = per_hundred(up, base), per_hundred(down, base)
        rows.append(
            {
                **heads[point.start],
                "days": point.days,
                "items": items_shown,
                "escalation": up,
                "deescalation": down,
                "net": up + down,
            }
        )
    return rows


@st.cache_data(ttl=CACHE_TTL, show_spinner="Computing the trends…")
def load_trends(
    path: str,
    version: str,
    dyads: tuple[str, ...],
    actors: tuple[str, ...],
    categories: tuple[str, ...],
    start: date,
    end: date,
    granularity: Granularity,
    unit: Unit = "story",
    normalised: bool = False,
) -> Trends:
    """One series per chosen dyad and actor; the categories and outlet countries behind the
    chosen dyads (all of them summed; an actor's categories when no dyad is chosen).

    With ``categories``, a series counts only those categories (its items are then
    item-category pairs). ``normalised``: per 100 items (stories) collected in the period.
    The days are summed into periods by SQLite (``load_period_series``): the same figures
    as summing the daily series here, a test checks, without a Python object per day.
    """
    pairs = [key_of(Dyad.parse(d)) for d in dyads]
    spans = period_spans(start, end, granularity)
    by_kind: list[tuple[Kind, Literal["dyad_category", "actor_category"], list[tuple[str, str]]]]
    by_kind = [
        ("dyad", "dyad_category", list(zip(dyads, pairs, strict=True))),  # (label, key)
        ("actor", "actor_category", [(a, a) for a in actors]),
    ]
    with reading(path) as db:
        totals = (
            load_period_series(db, "all", [""], start, end, granularity, unit)[""]
            if normalised
            else None
        )
        named: list[tuple[str, tuple[PeriodPoint, ...]]] = []
        for kind, category_kind, labelled in by_kind:
            if categories:
                for label, key in labelled:
                    wanted = [f"{key}|{c}" for c in categories]
                    parts = load_period_series(
                        db, category_kind, wanted, start, end, granularity, unit
                    )
                    # the categories with an item in the period, in the order chosen
                    chosen = [parts[k] for k in wanted if any(p.items for p in parts[k])]
                    named.append((label, tuple(_sum_periods(chosen, spans))))
            elif labelled:
                keys = [key for _, key in labelled]
                found = load_period_series(db, kind, keys, start, end, granularity, unit)
                named += [(label, found[key]) for label, key in labelled]
        if pairs:
            by_category = load_breakdown_periods(
                db, "dyad_category", pairs, start, end, granularity, unit
            )
            by_country = load_breakdown_periods(
                db, "dyad_country", pairs, start, end, granularity, unit
            )
        else:
            by_category = load_breakdown_periods(
                db, "actor_category", actors, start, end, granularity, unit
            )
            by_country = {}
        if categories:
            by_category = {k: v for k, v in by_category.items() if k in categories}
    heads = {
        first: {
            "period": _timestamp(first),
            "start": first.isoformat(),
            "label": period_label(first, granularity),
        }
        for first in spans
    }
    series_rows = [
        {"series": label, **row}
        for label, points in named
        for row in _period_rows(points, heads, totals)
    ]
    category_rows = [
        {
            "category": name,
            **{k: v for k, v in row.items() if k in ("period", "start", "label", "items")},
            "weight": row["net"],
        }
        for name, points in sorted(by_category.items())
        for row in _period_rows(points, heads, totals)
        if row["items"]
    ]
    country_rows = [
        {
            "country": name or "unknown",
            **{k: row[k] for k in ("period", "start", "label", "items", "net")},
        }
        for name, points in sorted(by_country.items())
        for row in _period_rows(points, heads, totals)
        if row["items"]
    ]
    return Trends(
        start,
        end,
        pd.DataFrame(
            series_rows,
            columns=[
                "series",
                "period",
                "start",
                "label",
                "days",
                "items",
                "escalation",
                "deescalation",
                "net",
            ],
        ),
        pd.DataFrame(
            category_rows, columns=["category", "period", "start", "label", "items", "weight"]
        ),
        pd.DataFrame(country_rows, columns=["country", "period", "start", "label", "items", "net"]),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_hourly_frame(path: str, version: str, dyads: tuple[str, ...], unit: Unit) -> pd.DataFrame:
    """The last 7 days per UTC hour, up to the latest item: series, hour, items, net."""
    with reading(path) as db:
        last = sq.get_last_published(db)
        if last is None:
            return pd.DataFrame(columns=["series", "hour", "items", "net"])
        keys = [key_of(Dyad.parse(d)) for d in dyads]
        hourly = load_hourly(db, "dyad", keys, last, unit=unit)
    return pd.DataFrame(
        [
            {"series": d, "hour": pd.Timestamp(p.hour), "items": p.items, "net": p.net}
            for d, k in zip(dyads, keys, strict=True)
            for p in hourly[k]
        ],
        columns=["series", "hour", "items", "net"],
    )


# --- chart selections --------------------------------------------------------------------------


def chart_pick(event: Mapping[str, Any] | None, param: str = "pick") -> dict[str, str] | None:
    """The fields of the point or bar clicked on a chart (its selection ``param``), if any."""
    selection = (event or {}).get("selection") or {}
    picked = selection.get(param) or []
    if not picked or not isinstance(picked[0], Mapping):
        return None
    return {str(k): str(v) for k, v in picked[0].items() if not str(k).startswith("vlPoint")}


def picked_period(fields: Mapping[str, str] | None) -> date | None:
    try:
        return date.fromisoformat(fields["start"]) if fields else None
    except (KeyError, ValueError):
        return None


def picked_dyad(fields: Mapping[str, str] | None, key: str = "dyad") -> str | None:
    try:
        return Dyad.parse(fields[key]).id if fields else None
    except (KeyError, ValueError):
        return None


def selected_rows(event: Mapping[str, Any] | None) -> list[int]:
    """Row positions selected in an ``st.dataframe(on_select=...)``."""
    selection = (event or {}).get("selection") or {}
    return [int(row) for row in selection.get("rows") or []]


def episode_at(episodes: pd.DataFrame, row: int) -> tuple[str, date, date] | None:
    """The (dyad, first day, last day) of the episode shown on ``row`` of the episodes table."""
    if not 0 <= row < len(episodes):
        return None
    record = episodes.iloc[row]
    return str(record["dyad"]), record["first"].date(), record["last"].date()


def spike_at(spikes: pd.DataFrame, row: int) -> tuple[str, date] | None:
    """The (dyad, day) of the spike shown on ``row`` of the spikes table."""
    if not 0 <= row < len(spikes):
        return None
    record = spikes.iloc[row]
    return str(record["dyad"]), record["day"].date()


# --- items -------------------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "published", "outlet", "title", "actors", "categories", "index", "story_outlets",
    "story_items", "lang", "link", "outlets", "id", "story_id",
)  # fmt: skip


def _items_frame(rows: Sequence[sq.ItemRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "published": pd.Timestamp(r.published),
                "outlet": r.outlet,
                "title": r.title,
                "actors": list(r.actors),
                "categories": list(r.categories),
                "index": r.index,
                "story_outlets": r.story_outlets,
                "story_items": r.story_items,
                "lang": r.lang,
                "link": r.url,
                "outlets": r.outlets,
                "id": r.id,
                "story_id": r.story_id,
            }
            for r in rows
        ],
        columns=list(_ITEM_COLUMNS),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_items(
    path: str,
    version: str,
    *,
    dyads: tuple[str, ...] = (),
    actors: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    feeds: tuple[str, ...] = (),
    langs: tuple[str, ...] = (),
    countries: tuple[str, ...] = (),
    search: str = "",
    since: date | None = None,
    until: date | None = None,
    unit: Unit = "item",
    limit: int = ITEM_LIMIT,
    ids: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The newest matching items (``unit="story"``: one row per story, its first item).
    ``dyads``: any of them; ``actors``: all of them; ``categories``: any of them;
    ``ids``: exactly these items. ``until`` is exclusive. Columns: see ``_ITEM_COLUMNS``;
    link is http(s) or None."""
    spec = sq.ItemFilter(
        dyads=tuple((p.a, p.b) for p in (Dyad.parse(d) for d in dyads)),
        actors=actors,
        categories=categories,
        feeds=feeds,
        langs=langs,
        countries=countries,
        search=search,
        since=_utc_midnight(since) if since else None,
        until=_utc_midnight(until) if until else None,
        stories_only=unit == "story",
        limit=limit,
        ids=ids,
    )
    with reading(path) as db:
        return _items_frame(sq.list_items(db, spec))


def item_id_at(items: pd.DataFrame, row: int) -> str | None:
    return str(items.iloc[row]["id"]) if 0 <= row < len(items) else None


def items_csv(items: pd.DataFrame) -> bytes:
    """The items as CSV (UTF-8 with BOM so spreadsheets read accents; lists joined by ``;``).
    Cells starting with = + - @ are prefixed with ' so no spreadsheet runs them as formulas."""
    frame = items.copy()
    for column in ("actors", "categories"):
        frame[column] = frame[column].map(lambda tags: ";".join(tags))
    frame["published"] = frame["published"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for column in ("title", "outlet"):
        frame[column] = frame[column].map(
            lambda text: "'" + text if str(text)[:1] in ("=", "+", "-", "@") else text
        )
    return bytes(frame.to_csv(index=False).encode("utf-8-sig"))


def items_json(items: pd.DataFrame) -> bytes:
    """The items as a JSON array (UTC times as ISO 8601, tags as arrays)."""
    frame = items.copy()
    frame["published"] = frame["published"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(frame.to_json(orient="records", force_ascii=False, indent=1)).encode("utf-8")


@dataclass(frozen=True)
class ItemDetail:
    item: sq.ItemRow
    evidence: pd.DataFrame  # one row per tag and match: see ``load_item_detail``
    title_marked: str  # the title as escaped markdown, matched words highlighted
    summary_marked: str


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_item_detail(path: str, version: str, item_id: str) -> ItemDetail | None:
    """An item and why it is tagged: one row per rule firing, and one for a label with none.

    Evidence columns: kind, tag, weight, rule, field, text, span, rules_version.
    """
    with reading(path) as db:
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
    return ItemDetail(
        item,
        pd.DataFrame(rows, columns=columns),
        highlight(item.title, [(m.start, m.end) for m in matches if m.field == "title"]),
        highlight(item.summary, [(m.start, m.end) for m in matches if m.field == "summary"]),
    )


# --- feeds -------------------------------------------------------------------------------------

STALE_AFTER = timedelta(days=2)  # an enabled feed with no success for this long is stale
FEED_COLUMNS = [
    "flag", "status", "name", "url", "country", "lang", "last_ok", "last_error", "last_error_at",
    "error_since", "error_count", "items", "items_7d", "median_ms", "next_due", "last_warning",
    "disabled_reason",
]  # fmt: skip


def feed_flag(status: str, last_ok: datetime | None, now: datetime, archive: bool) -> str:
    """``failing``, ``stale`` (no success for ``STALE_AFTER``), ``off`` or ``""``."""
    if status == "error":
        return "failing"
    if status == "disabled":
        return "off"
    if not archive and (last_ok is None or now - last_ok > STALE_AFTER):
        return "stale"
    return ""


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_feed_health(path: str, version: str) -> pd.DataFrame:
    """One row per feed, failing and stale ones first. Columns: ``FEED_COLUMNS``."""
    now = datetime.now(UTC)
    with reading(path) as db:
        feeds = sq.list_feed_health(db, now, timedelta(days=7))

    def stamp(moment: datetime | None) -> pd.Timestamp | None:
        return pd.Timestamp(moment) if moment else None

    rows = [
        {
            "flag": feed_flag(
                f.status, f.last_ok, now, not f.url.lower().startswith(("http://", "https://"))
            ),
            "status": f.status,
            "name": f.name,
            "url": f.url,
            "country": f.country,
            "lang": f.lang,
            "last_ok": stamp(f.last_ok),
            "last_error": f.last_error or "",
            "last_error_at": stamp(f.last_error_at),
            "error_since": stamp(f.error_since),
            "error_count": f.error_count,
            "items": f.items,
            "items_7d": f.items_recent,
            "median_ms": f.median_ms,
            "next_due": stamp(f.next_due),
            "last_warning": f.last_warning or "",
            "disabled_reason": f.disabled_reason or "",
        }
        for f in feeds
    ]
    order = {"failing": 0, "stale": 1, "": 2, "off": 3}
    rows.sort(key=lambda r: order[str(r["flag"])])
    return pd.DataFrame(rows, columns=FEED_COLUMNS)


def count_statuses(feeds: pd.DataFrame) -> dict[str, int]:
    """How many feeds are in each status, in the order ok, error, disabled, never."""
    counts = feeds["status"].value_counts() if len(feeds) else pd.Series(dtype=int)
    return {status: int(counts.get(status, 0)) for status in sq.FEED_STATUSES}


# --- event calendar ----------------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def load_events(start: date, end: date, dyads: tuple[str, ...]) -> pd.DataFrame:
    """Calendar events in the period that concern one of ``dyads``: day, label, note,
    recurring (a yearly event)."""
    calendar = load_calendar(paths.seeds_dir() / "events.toml")
    wanted = set(dyads)
    return pd.DataFrame(
        [
            {"day": _timestamp(e.day), "label": e.label, "note": e.note, "recurring": e.recurring}
            for e in events_between(calendar, start, end)
            if e.concerns(wanted)
        ],
        columns=["day", "label", "note", "recurring"],
    )
