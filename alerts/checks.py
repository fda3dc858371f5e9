"""What each kind of rule finds at a given moment: zero or more ``Firing``.

Checks only read. Whether a firing becomes an alert (episode not seen yet,
cooldown over) is decided by ``alerts.evaluate``. Each firing carries an
``episode``: the same thing seen again gives the same episode, so it can be
recorded once only (a spike's day, a feed's silence start, a digest's date,
the first item of a batch of new matches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from alerts.rules import AlertRule
from alerts.series import (
    Evidence,
    day_start,
    first_day,
    load_evidence,
    load_items,
    load_rule_series,
    rule_spikes,
)
from indicators import DEFAULT_BASELINE, compare_windows, load_daily_series
from storage.alert_store import (
    get_alert_state,
    last_item_seen,
    list_alert_history,
    list_matching_item_ids,
    list_new_item_ids,
    max_item_rowid,
)
from storage.db import to_iso

if TYPE_CHECKING:
    import sqlite_utils

CHART_DAYS = 60  # days shown on a spike's chart, ending on the spike
# A digest goes out at its time or up to this late; a collector that was down then (or
# starts for the first time later in the day) waits for the next one.
DIGEST_LATE = timedelta(hours=1)


@dataclass(frozen=True)
class Firing:
    """A rule that has something to say, with the evidence for the email."""

    rule: AlertRule
    episode: str
    subject: str
    observed: float | None
    expected: float | None
    period: str
    why: tuple[str, ...]
    items: tuple[Evidence, ...] = ()
    link: str | None = None
    chart: dict[str, str] | None = None  # {"start", "end", "mark"}: days of the chart
    watermark: int | None = None  # match rules: the rowid looked at up to
    # a match rule with nothing new still moves its watermark: an empty ``episode``
    # means "nothing to record, only remember the watermark"
    extra: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        """What the history keeps to render the email again later (quiet hours)."""
        return {
            "why": list(self.why),
            "items": [asdict(item) for item in self.items],
            "link": self.link,
            "chart": self.chart,
            "series": self.rule.series,
            **self.extra,
        }


def label_of(actor: str) -> str:
    return actor.replace("_", " ").title()


def rule_label(rule: AlertRule) -> str:
    """``Morocco–Algeria``, ``Morocco–Algeria diplomatic rupture``, ``Polisario``..."""
    parts = []
    if rule.dyad:
        parts.append(f"{label_of(rule.dyad.a)}–{label_of(rule.dyad.b)}")
    parts += [label_of(a) for a in rule.actors]
    text = " + ".join(parts) if parts else "All items"
    if rule.categories:
        text += " " + ", ".join(c.replace("_", " ") for c in rule.categories)
    return text


def dashboard_link(base: str, rule: AlertRule, since: date, until: date) -> str:
    """The Items page filtered to the rule's series and days."""
    query: dict[str, str] = {}
    if rule.dyad:
        query["dyad"] = rule.dyad.id
    if rule.actors:
        query["actors"] = ",".join(rule.actors)
    if rule.categories:
        query["categories"] = ",".join(rule.categories)
    query["since"] = since.isoformat()
    query["until"] = until.isoformat()
    return f"{base}/items?{urlencode(query)}"


def spike_subject(rule: AlertRule, observed: float, expected: float) -> str:
    what = "items" if rule.measure == "items" else "escalation"
    if expected > 0:
        change = f"{observed / expected:.1f}× baseline"
    else:
        change = f"{observed:+.0f} against a baseline of {expected:+.0f}"
    return f"{rule_label(rule)} {what} {change}"


def check_spike(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[Firing]:
    """Spikes on the last ``lookback_days`` UTC days (today included, so far)."""
    today = now.date()
    begin = first_day(db)
    if begin is None:
        return []
    start = max(begin, today - timedelta(days=rule.baseline_days + rule.lookback_days + 1))
    points = load_rule_series(db, rule, start, today)
    recent = today - timedelta(days=rule.lookback_days - 1)
    return [
        spike_firing(db, rule, spike.day, spike.observed, spike.expected, spike.upper, point.items,
                     dashboard)
        for spike, point in rule_spikes(points, rule)
        if spike.day >= recent
    ]  # fmt: skip


def spike_firing(
    db: sqlite_utils.Database,
    rule: AlertRule,
    day: date,
    observed: float,
    expected: float,
    upper: float,
    items: int,
    dashboard: str,
) -> Firing:
    what = "item count" if rule.measure == "items" else f"{rule.measure} escalation index"
    evidence = load_evidence(db, rule, day_start(day), day_start(day + timedelta(days=1)), 10)
    return Firing(
        rule=rule,
        episode=day.isoformat(),
        subject=spike_subject(rule, observed, expected),
        observed=observed,
        expected=expected,
        period=f"{day.isoformat()} (UTC day)",
        why=(
            f"The {what} of {rule_label(rule)} was {observed:+.0f} on {day.isoformat()} "
            f"(UTC), from {items} items.",
            f"Expected {expected:+.1f} (median of the {rule.baseline_days} days before); "
            f"the usual range tops out at {upper:+.1f}.",
        ),
        items=tuple(evidence),
        link=dashboard_link(dashboard, rule, day, day),
        chart={
            "start": (day - timedelta(days=CHART_DAYS - 1)).isoformat(),
            "end": day.isoformat(),
            "mark": day.isoformat(),
        },
    )


def _hours(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    return f"{seconds / 3600:g} h"


def check_threshold(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[Firing]:
    since = now - timedelta(seconds=rule.window)
    ids = list_matching_item_ids(db, rule.all_actors, rule.categories, since, now)
    if len(ids) < rule.count:
        return []
    return [
        Firing(
            rule=rule,
            episode=to_iso(now),
            subject=f"{rule_label(rule)}: {len(ids)} items in {_hours(rule.window)}",
            observed=float(len(ids)),
            expected=float(rule.count),
            period=f"{to_iso(since)} to {to_iso(now)}",
            why=(
                f"{len(ids)} items about {rule_label(rule)} were published in the last "
                f"{_hours(rule.window)}; the rule fires at {rule.count}.",
            ),
            items=tuple(load_items(db, ids[:10])),
            link=dashboard_link(dashboard, rule, since.date(), now.date()),
        )
    ]


def check_match(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[Firing]:
    """New items matching the filter since the last evaluation, as one batch.

    The first evaluation only sets the watermark: what was stored before the
    rule existed is not news.
    """
    mark = max_item_rowid(db)
    state = get_alert_state(db, rule.name, rule.series)
    if state.watermark is None or state.watermark >= mark:
        return [Firing(rule, "", "", None, None, "", (), watermark=mark)]
    ids = list_new_item_ids(
        db, state.watermark, mark, rule.all_actors, rule.categories,
        now - timedelta(seconds=rule.max_age),
    )  # fmt: skip
    if not ids:
        return [Firing(rule, "", "", None, None, "", (), watermark=mark)]
    items = load_items(db, ids[:25])
    first = items[0].title if items else ids[0]
    more = f" (+{len(ids) - 1} more)" if len(ids) > 1 else ""
    return [
        Firing(
            rule=rule,
            episode=f"item:{ids[0]}",
            subject=f"{rule_label(rule)}: {first}{more}",
            observed=float(len(ids)),
            expected=None,
            period=f"stored up to {to_iso(now)}",
            why=(f"{len(ids)} new items match {rule_label(rule)}.",),
            items=tuple(items),
            link=dashboard_link(
                dashboard, rule, (now - timedelta(seconds=rule.max_age)).date(), now.date()
            ),
            watermark=mark,
        )
    ]


def check_flatline(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[Firing]:
    last = last_item_seen(db, rule.feed)
    if last is None or now - last < timedelta(seconds=rule.period):
        return []
    silent = now - last
    what = rule.feed or "all live feeds"
    hours = silent.total_seconds() / 3600
    return [
        Firing(
            rule=rule,
            episode=to_iso(last),
            subject=f"No new items from {what} for {hours:.0f} h",
            observed=0.0,
            expected=None,
            period=f"since {to_iso(last)}",
            why=(
                f"The last new item from {what} arrived at {to_iso(last)}, {hours:.1f} hours "
                f"ago; the rule allows {_hours(rule.period)}.",
                "Collection itself may be broken: see the Feeds page.",
            ),
            link=f"{dashboard}/feeds",
        )
    ]


def digest_due(rule: AlertRule, now: datetime) -> datetime:
    """The latest scheduled digest time at or before ``now`` (aware, the rule's zone)."""
    local = now.astimezone(rule.zone)
    due = datetime.combine(local.date(), rule.at, tzinfo=rule.zone)
    if rule.every == "weekly":
        due -= timedelta(days=(local.weekday() - rule.weekday) % 7)
    if due > local:
        due -= timedelta(days=7 if rule.every == "weekly" else 1)
    return due


def check_digest(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[Firing]:
    due = digest_due(rule, now)
    if now - due > DIGEST_LATE:
        return []
    days = 7 if rule.every == "weekly" else 1
    since = due - timedelta(days=days)
    end_day = due.date() - timedelta(days=1)  # local days, read as UTC days: close enough
    history = DEFAULT_BASELINE.window // days
    series = load_daily_series(
        db, rule.dyads, end_day - timedelta(days=days * (history + 1) - 1), end_day
    )
    lines = []
    rows = []
    for dyad in rule.dyads:
        comparison = compare_windows(series[dyad], "net", days, history)
        expected = comparison.expected
        shown = "no history" if expected is None else f"{expected:+.0f}"
        items = sum(p.items for p in series[dyad][-days:])
        lines.append(
            f"{label_of(dyad.a)}–{label_of(dyad.b)}: index {comparison.current:+.0f} "
            f"(usual {shown}), {items} items"
        )
        rows.append({"dyad": dyad.id, "index": comparison.current, "expected": expected})
    ids = list_matching_item_ids(db, (), (), since, due, rule.top)
    alerts = [a for a in list_alert_history(db, 50, since, due) if a.kind != "digest"]
    lines.append(f"{len(alerts)} alerts in the period" + (":" if alerts else "."))
    lines += [f"  {a.fired:%Y-%m-%d %H:%M} UTC  {a.title}" for a in alerts]
    label = "Daily" if rule.every == "daily" else "Weekly"
    return [
        Firing(
            rule=rule,
            episode=due.date().isoformat(),
            subject=f"{label} digest to {due:%Y-%m-%d %H:%M} ({rule.timezone})",
            observed=None,
            expected=None,
            period=f"{to_iso(since)} to {to_iso(due)}",
            why=tuple(lines),
            items=tuple(load_items(db, ids)),
            link=f"{dashboard}/",
            extra={"dyads": rows},
        )
    ]


CHECKS = {
    "spike": check_spike,
    "threshold": check_threshold,
    "match": check_match,
    "flatline": check_flatline,
    "digest": check_digest,
}


def check_rule(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> Sequence[Firing]:
    return CHECKS[rule.kind](db, rule, now, dashboard)
