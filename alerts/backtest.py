"""Replaying a rule over stored history: on which days would it have fired?

Spike rules use the same series, statistic and minimum count as live
evaluation, each day judged with only the days before it, and the rule's
cooldown applied between firings (a cooldown of three days turns a
three-day burst into one alert). Threshold rules are judged at the end of
each UTC day over their window; match rules fire on each day with a matching
item. Flatline and digest rules depend on when items were *collected*, which
history does not replay, so they are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from alerts.rules import AlertRule
from alerts.series import day_start, first_day, load_rule_series, rule_spikes
from model import AlertError
from storage.alert_store import list_matching_item_ids

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class BacktestDay:
    day: date
    observed: float
    expected: float | None
    items: int


def backtest_rule(
    db: sqlite_utils.Database, rule: AlertRule, start: date, end: date
) -> list[BacktestDay]:
    """The days from ``start`` to ``end`` (inclusive) on which ``rule`` would have fired."""
    if rule.kind not in ("spike", "threshold", "match"):
        raise AlertError(
            f"{rule.name}: a {rule.kind} rule cannot be backtested "
            "(only spike, threshold and match rules can)"
        )
    if end < start:
        raise AlertError(f"--from {start} is after --to {end}")
    begin = first_day(db)
    if begin is None:
        return []
    candidates: list[BacktestDay] = []
    if rule.kind == "spike":
        points = load_rule_series(db, rule, begin, end)
        candidates = [
            BacktestDay(s.day, s.observed, s.expected, p.items)
            for s, p in rule_spikes(points, rule)
            if s.day >= start
        ]
    else:
        window = timedelta(seconds=rule.window if rule.kind == "threshold" else 86400)
        day = start
        while day <= end:
            until = day_start(day + timedelta(days=1))
            ids = list_matching_item_ids(
                db, rule.all_actors, rule.categories, until - window, until
            )
            needed = rule.count if rule.kind == "threshold" else 1
            if len(ids) >= needed:
                expected = float(rule.count) if rule.kind == "threshold" else None
                candidates.append(BacktestDay(day, float(len(ids)), expected, len(ids)))
            day += timedelta(days=1)
    fired: list[BacktestDay] = []
    for candidate in candidates:
        last = fired[-1].day if fired else None
        # fired at the end of its day; the next may fire once the cooldown has passed
        if last is None or (candidate.day - last).total_seconds() >= rule.cooldown:
            fired.append(candidate)
    return fired
