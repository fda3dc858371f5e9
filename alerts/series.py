"""The daily series an alert rule watches, and the evidence items behind a period.

A rule with only a dyad reads the indicators' own series
(``indicators.load_daily_series``); a rule with actors or categories reads
the same kind of ``DailyPoint`` from ``storage.alert_store``. Either way the
spike statistic is the indicators' (``indicators.detect_spikes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from alerts.rules import AlertRule
from indicators import (
    DEFAULT_BASELINE,
    BaselineSettings,
    DailyPoint,
    Spike,
    days_between,
    detect_spikes,
    load_daily_series,
)
from indicators.aggregated import Unit, load_series, normalise
from storage.alert_store import list_matching_item_ids, list_series_day_totals
from storage.queries import get_item, list_tag_matches, summarise_items

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class Evidence:
    """One item shown in an email: feed text stays plain text until the renderer escapes it."""

    id: str
    title: str
    url: str | None  # http(s) only
    outlet: str
    outlets: int
    published: str  # YYYY-MM-DD HH:MM UTC
    words: tuple[str, ...]  # the matched words behind its labels


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def first_day(db: sqlite_utils.Database) -> date | None:
    """The first day with an item: days before it are unknown, not zero."""
    summary = summarise_items(db)
    return summary.first_published.date() if summary.first_published else None


def load_rule_series(
    db: sqlite_utils.Database, rule: AlertRule, start: date, end: date
) -> tuple[DailyPoint, ...]:
    """One point per UTC day from ``start`` to ``end`` for the rule's filter."""
    if end < start:
        return ()
    if rule.uses_aggregates:
        return load_aggregated(db, rule, start, end)
    if rule.dyad is not None and not rule.actors and not rule.categories:
        return load_daily_series(db, [rule.dyad], start, end)[rule.dyad]
    rows = list_series_day_totals(
        db, rule.all_actors, rule.categories, day_start(start), day_start(end + timedelta(days=1))
    )
    totals = {row.day: row for row in rows}
    points = []
    for day in days_between(start, end):
        row = totals.get(day.isoformat())
        if row is None:
            points.append(DailyPoint(day))
        else:
            points.append(DailyPoint(day, row.items, row.escalation, row.deescalation))
    return tuple(points)


def load_aggregated(
    db: sqlite_utils.Database, rule: AlertRule, start: date, end: date
) -> tuple[DailyPoint, ...]:
    """The rule's series from ``agg_daily`` (``indicators.aggregated``): per story or item,
    and when ``normalised`` its escalation per 100 items (stories) collected that day; the
    item count stays raw, so ``min_items`` still counts items (stories)."""
    found = rule.aggregate_key()
    assert found is not None  # checked when the rule was parsed
    kind, key = found
    unit: Unit = "story" if rule.unit == "story" else "item"
    points = load_series(db, kind, [key], start, end, unit)[key]  # type: ignore[arg-type]
    if not rule.normalised:
        return points
    totals = load_series(db, "all", [""], start, end, unit)[""]
    return tuple(
        DailyPoint(p.day, p.items, n.escalation, n.deescalation)
        for p, n in zip(points, normalise(points, totals), strict=True)
    )


def baseline_settings(rule: AlertRule) -> BaselineSettings:
    floor = 1.0 if rule.measure == "items" else DEFAULT_BASELINE.min_spread
    return BaselineSettings(
        window=rule.baseline_days,
        min_samples=min(DEFAULT_BASELINE.min_samples, rule.baseline_days),
        threshold=rule.threshold,
        min_spread=floor,
    )


def rule_spikes(points: tuple[DailyPoint, ...], rule: AlertRule) -> list[tuple[Spike, DailyPoint]]:
    """Spikes of the rule's measure on days with at least ``min_items`` items."""
    by_day = {p.day: p for p in points}
    spikes = detect_spikes(points, rule.measure, baseline_settings(rule))
    return [(s, by_day[s.day]) for s in spikes if by_day[s.day].items >= rule.min_items]


def load_evidence(
    db: sqlite_utils.Database, rule: AlertRule, since: datetime, until: datetime, limit: int
) -> list[Evidence]:
    """The top items of the period for the rule's filter: highest index, most outlets first."""
    ids = list_matching_item_ids(db, rule.all_actors, rule.categories, since, until, limit)
    return load_items(db, ids)


def load_items(db: sqlite_utils.Database, ids: list[str]) -> list[Evidence]:
    evidence = []
    for item_id in ids:
        row = get_item(db, item_id)
        if row is None:
            continue
        words = tuple(dict.fromkeys(m.text for m in list_tag_matches(db, item_id)))
        evidence.append(
            Evidence(
                id=row.id,
                title=row.title,
                url=row.url,
                outlet=row.outlet,
                outlets=row.outlets,
                published=row.published.strftime("%Y-%m-%d %H:%M UTC"),
                words=words,
            )
        )
    return evidence
