"""Series from the pre-aggregated tables: per dyad, actor or category, per item or per story.

``load_series`` reads ``agg_daily`` (kept by ``storage.aggregates``) and
returns one ``DailyPoint`` per day per key, zeros where nothing happened,
exactly like ``series.fill_daily`` does from the raw tags (the two agree on
items: a test checks it). ``unit="story"`` (the default everywhere) counts a
wire story republished by several outlets once; ``unit="item"`` counts every
copy.

**Normalised** series divide each day by the number of items (or stories)
collected that day, all of them, tagged or not, and multiply by 100: "per
100 items collected". A feed added (or gone quiet) raises (or lowers) the
raw counts of every series alike; the normalised series does not move with
it. A day with nothing collected is 0, not a division by zero.

``load_hourly`` gives the same measures per UTC hour, computed from the
items themselves (the last seven days are a few thousand items at most).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from indicators.series import (
    DailyPoint,
    Dyad,
    Granularity,
    PeriodPoint,
    days_between,
    next_period_start,
    period_start,
)
from storage.aggregates import dyad_key, list_facts, tally_facts
from storage.queries import (
    AggregatePeriod,
    list_aggregate_days,
    list_aggregate_part_periods,
    list_aggregate_parts,
    list_aggregate_periods,
)

if TYPE_CHECKING:
    import sqlite_utils

Unit = Literal["item", "story"]
Kind = Literal[
    "dyad", "actor", "category", "country", "dyad_category", "dyad_country", "actor_category", "all"
]


@dataclass(frozen=True)
class NormalisedPoint:
    """A day's measures per 100 items (or stories) collected that day."""

    day: date
    items: float
    escalation: float
    deescalation: float

    @property
    def net(self) -> float:
        return self.escalation + self.deescalation


@dataclass(frozen=True)
class HourPoint:
    hour: datetime  # UTC, on the hour
    items: int
    escalation: float
    deescalation: float

    @property
    def net(self) -> float:
        return self.escalation + self.deescalation


def key_of(dyad: Dyad) -> str:
    """The aggregates' key of a dyad (its actors sorted: either order is the same items)."""
    return dyad_key(dyad.a, dyad.b)


def fill_days(
    rows: Sequence[tuple[str, date, int, float, float]],
    keys: Sequence[str],
    start: date,
    end: date,
) -> dict[str, tuple[DailyPoint, ...]]:
    """One point per day from ``start`` to ``end`` for each key; zeros where ``rows``
    (key, day, items, escalation, de-escalation) has nothing; other rows ignored."""
    cells = {(key, day): (n, up, down) for key, day, n, up, down in rows}
    days = days_between(start, end)
    return {
        key: tuple(DailyPoint(day, *cells.get((key, day), (0, 0.0, 0.0))) for day in days)
        for key in keys
    }


def load_series(
    db: sqlite_utils.Database,
    kind: Kind,
    keys: Sequence[str],
    start: date,
    end: date,
    unit: Unit = "story",
) -> dict[str, tuple[DailyPoint, ...]]:
    """Daily points of each key of ``kind`` from ``start`` to ``end`` (inclusive).

    Dyad keys are sorted pairs (``key_of``); ``kind="all"`` takes the key ``""``.
    """
    rows = list_aggregate_days(db, unit, kind, start, end, keys=list(keys))
    return fill_days(
        [(r.key, r.day, r.items, r.escalation, r.deescalation) for r in rows], keys, start, end
    )


def load_breakdown(
    db: sqlite_utils.Database,
    kind: Literal["dyad_category", "dyad_country", "actor_category"],
    owner: str,
    start: date,
    end: date,
    unit: Unit = "story",
) -> dict[str, tuple[DailyPoint, ...]]:
    """A dyad's (or actor's) days split by category or by outlet country: ``{part: points}``
    for every part that has at least one item in the period."""
    rows = list_aggregate_days(db, unit, kind, start, end, prefixes=[f"{owner}|"])
    parts = sorted({r.key.partition("|")[2] for r in rows})
    return fill_days(
        [(r.key.partition("|")[2], r.day, r.items, r.escalation, r.deescalation) for r in rows],
        parts,
        start,
        end,
    )


def load_breakdown_total(
    db: sqlite_utils.Database,
    kind: Literal["dyad_category", "dyad_country", "actor_category"],
    owners: Sequence[str],
    start: date,
    end: date,
    unit: Unit = "story",
) -> dict[str, tuple[DailyPoint, ...]]:
    """``load_breakdown`` of several dyads (or actors) summed part by part: a story about
    two of them counts in both, as when their series are added."""
    rows = list_aggregate_parts(db, unit, kind, list(owners), start, end)
    parts = sorted({r.key for r in rows})
    return fill_days(
        [(r.key, r.day, r.items, r.escalation, r.deescalation) for r in rows], parts, start, end
    )


def period_spans(start: date, end: date, granularity: Granularity) -> dict[date, int]:
    """The first day of every period that overlaps ``start``..``end``, in order, with how
    many of its days fall in that range (fewer than its length at the edges)."""
    spans: dict[date, int] = {}
    first = period_start(start, granularity)
    while first <= end:
        following = next_period_start(first, granularity)
        spans[first] = (min(following - timedelta(days=1), end) - max(first, start)).days + 1
        first = following
    return spans


def fill_periods(
    rows: Sequence[AggregatePeriod], keys: Sequence[str], spans: dict[date, int]
) -> dict[str, tuple[PeriodPoint, ...]]:
    """One point per period of ``spans`` for each key; zeros where ``rows`` has nothing."""
    cells = {(r.key, r.start): r for r in rows}
    series = {}
    for key in keys:
        points = []
        for first, days in spans.items():
            row = cells.get((key, first))
            if row is None:
                points.append(PeriodPoint(first, days, 0, 0.0, 0.0))
            else:
                points.append(PeriodPoint(first, days, row.items, row.escalation, row.deescalation))
        series[key] = tuple(points)
    return series


def load_period_series(
    db: sqlite_utils.Database,
    kind: Kind,
    keys: Sequence[str],
    start: date,
    end: date,
    granularity: Granularity,
    unit: Unit = "story",
) -> dict[str, tuple[PeriodPoint, ...]]:
    """``load_series`` summed per day, week or month, the summing done in SQL: what
    ``series.aggregate`` makes of ``load_series`` (a test checks), without a Python object
    per day. One point per period overlapping ``start``..``end``."""
    rows = list_aggregate_periods(db, unit, kind, list(keys), start, end, granularity)
    return fill_periods(rows, keys, period_spans(start, end, granularity))


def load_breakdown_periods(
    db: sqlite_utils.Database,
    kind: Literal["dyad_category", "dyad_country", "actor_category"],
    owners: Sequence[str],
    start: date,
    end: date,
    granularity: Granularity,
    unit: Unit = "story",
) -> dict[str, tuple[PeriodPoint, ...]]:
    """``load_breakdown_total`` summed per day, week or month in SQL: ``{part: points}`` for
    every part with at least one item in the period."""
    rows = list_aggregate_part_periods(db, unit, kind, list(owners), start, end, granularity)
    parts = sorted({r.key for r in rows})
    return fill_periods(rows, parts, period_spans(start, end, granularity))


def per_hundred(value: float, total: float) -> float:
    return 100.0 * value / total if total else 0.0


def normalise(
    points: Sequence[DailyPoint], totals: Sequence[DailyPoint]
) -> tuple[NormalisedPoint, ...]:
    """``points`` per 100 items of ``totals`` on the same day (both one point per day)."""
    by_day = {t.day: t.items for t in totals}
    return tuple(
        NormalisedPoint(
            p.day,
            per_hundred(p.items, by_day.get(p.day, 0)),
            per_hundred(p.escalation, by_day.get(p.day, 0)),
            per_hundred(p.deescalation, by_day.get(p.day, 0)),
        )
        for p in points
    )


def _hour(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def load_hourly(
    db: sqlite_utils.Database,
    kind: Kind,
    keys: Sequence[str],
    until: datetime,
    hours: int = 7 * 24,
    unit: Unit = "story",
) -> dict[str, tuple[HourPoint, ...]]:
    """One point per UTC hour of the ``hours`` before ``until`` for each key (zeros included)."""
    end = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    # only the items (stories) that can count for one of the keys are read and tallied
    concerning: list[frozenset[str]] | None = None
    if kind == "dyad":
        concerning = [frozenset((d.a, d.b)) for d in map(Dyad.parse, keys)]
    elif kind == "actor":
        concerning = [frozenset((key,)) for key in keys]
    facts = list_facts(db, start, end, unit, concerning)
    cells = tally_facts(facts, _hour, frozenset({kind}))
    moments = [start + timedelta(hours=n) for n in range(hours)]
    series: dict[str, tuple[HourPoint, ...]] = {}
    for key in keys:
        points = []
        for moment in moments:
            n, up, down = cells.get((kind, key, _hour(moment)), (0, 0.0, 0.0))
            points.append(HourPoint(moment, int(n), up, down))
        series[key] = tuple(points)
    return series
