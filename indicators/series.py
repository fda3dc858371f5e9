"""Daily series per dyad: items, escalation, de-escalation and net index per UTC day.

A *dyad* is an ordered pair of actor IDs (``morocco-algeria``); an item
concerns it when it carries both actor tags. Each day of a series holds
the number of such items and the sums of their category weights: positive
weights as ``escalation``, negative ones as ``deescalation``, and their sum
as the ``net`` escalation index. Days without items are zeros, so a series
has exactly one point per day of its period, which the baselines rely on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from storage.db import from_iso
from storage.queries import DyadDayTotal, list_dyad_day_totals

if TYPE_CHECKING:
    import sqlite_utils

Granularity = Literal["day", "week", "month"]
Measure = Literal["net", "escalation", "deescalation", "items"]


@dataclass(frozen=True)
class Dyad:
    """Two actor IDs; written ``a-b`` (actor IDs never contain ``-``)."""

    a: str
    b: str

    def __post_init__(self) -> None:
        for actor in (self.a, self.b):
            if not actor or "-" in actor or actor != actor.strip():
                raise ValueError(f"not an actor id: {actor!r}")
        if self.a == self.b:
            raise ValueError(f"a dyad needs two different actors, got {self.a!r} twice")

    @property
    def id(self) -> str:
        return f"{self.a}-{self.b}"

    def __str__(self) -> str:
        return self.id

    @classmethod
    def parse(cls, text: str) -> Dyad:
        """``"morocco-algeria"`` → ``Dyad("morocco", "algeria")``; ``ValueError`` otherwise."""
        a, sep, b = text.strip().partition("-")
        if not sep:
            raise ValueError(f"a dyad is written actor-actor, got {text!r}")
        return cls(a, b)


SEEDED_DYADS: tuple[Dyad, ...] = tuple(
    Dyad.parse(d)
    for d in (
        "morocco-algeria",
        "morocco-polisario",
        "morocco-israel",
        "algeria-polisario",
        "israel-palestine",
    )
)


@dataclass(frozen=True)
class DailyPoint:
    """One dyad on one UTC day."""

    day: date
    items: int = 0
    escalation: float = 0.0  # sum of positive category weights, >= 0
    deescalation: float = 0.0  # sum of negative category weights, <= 0

    @property
    def net(self) -> float:
        return self.escalation + self.deescalation

    def measure(self, name: Measure) -> float:
        if name == "net":
            return self.net
        if name == "items":
            return float(self.items)
        return self.escalation if name == "escalation" else self.deescalation


@dataclass(frozen=True)
class PeriodPoint:
    """Daily points summed over a week (from Monday) or a calendar month.

    ``days`` is how many days of the period the series covers: fewer than
    the period's length at the edges of the chosen range.
    """

    start: date
    days: int
    items: int
    escalation: float
    deescalation: float

    @property
    def net(self) -> float:
        return self.escalation + self.deescalation


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def fill_daily(
    rows: Iterable[DyadDayTotal], dyads: Sequence[Dyad], start: date, end: date
) -> dict[Dyad, tuple[DailyPoint, ...]]:
    """One point per day from ``start`` to ``end`` (inclusive) for each dyad, zeros where
    ``rows`` has nothing. Rows outside the period or for other dyads are ignored."""
    totals = {(r.a, r.b, r.day): r for r in rows}
    days = days_between(start, end)
    series: dict[Dyad, tuple[DailyPoint, ...]] = {}
    for dyad in dyads:
        points = []
        for day in days:
            row = totals.get((dyad.a, dyad.b, day))
            if row is None:
                points.append(DailyPoint(day))
            else:
                points.append(DailyPoint(day, row.items, row.escalation, row.deescalation))
        series[dyad] = tuple(points)
    return series


def load_daily_series(
    db: sqlite_utils.Database, dyads: Sequence[Dyad], start: date, end: date
) -> dict[Dyad, tuple[DailyPoint, ...]]:
    """``fill_daily`` over the items published from ``start`` to ``end`` (inclusive days)."""
    since = from_iso(f"{start.isoformat()}T00:00:00Z")
    until = from_iso(f"{(end + timedelta(days=1)).isoformat()}T00:00:00Z")
    rows = list_dyad_day_totals(db, [(d.a, d.b) for d in dyads], since, until)
    return fill_daily(rows, dyads, start, end)


def period_start(day: date, granularity: Granularity) -> date:
    """The first day of the week (Monday) or month that holds ``day``."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_period_start(start: date, granularity: Granularity) -> date:
    """The first day after the day, week or month that begins on ``start``."""
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=1)


def aggregate(points: Sequence[DailyPoint], granularity: Granularity) -> tuple[PeriodPoint, ...]:
    """Sum consecutive daily points into days, weeks or months, in order."""
    periods: dict[date, list[DailyPoint]] = {}
    for point in points:
        periods.setdefault(period_start(point.day, granularity), []).append(point)
    return tuple(
        PeriodPoint(
            start=start,
            days=len(group),
            items=sum(p.items for p in group),
            escalation=sum(p.escalation for p in group),
            deescalation=sum(p.deescalation for p in group),
        )
        for start, group in periods.items()
    )
