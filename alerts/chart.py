"""The email's chart: the dashboard's own escalation chart, rendered to PNG by vl-convert.

vl-convert runs Vega in an embedded JavaScript engine and rasterises with
resvg: no browser, no network. The chart shows the rule's daily series over
the days before the alert, the alert's day marked like a dashboard spike.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import TYPE_CHECKING, Any

from alerts.rules import AlertRule
from alerts.series import load_rule_series, rule_spikes

if TYPE_CHECKING:
    import sqlite_utils

PNG_WIDTH = 640


def series_name(rule: AlertRule) -> str:
    """The legend: a dyad keeps its dashboard name (and colour)."""
    if rule.dyad and not rule.actors and not rule.categories:
        return rule.dyad.id
    return rule.series


def render_chart_png(
    db: sqlite_utils.Database, rule: AlertRule, start: date, end: date, mark: date
) -> bytes:
    """A PNG of the rule's daily net index from ``start`` to ``end``, ``mark`` flagged."""
    import vl_convert

    # Imported by name: the dashboard (and pandas, which has no type stubs here) stay
    # outside the strictly typed packages; only this one function is used.
    pd = importlib.import_module("pandas")
    escalation_chart = importlib.import_module("dashboard.charts").escalation_chart

    title = series_name(rule)
    points = load_rule_series(db, rule, start, end)
    spike_days = {s.day for s, _ in rule_spikes(points, rule)} | {mark}
    rows: list[dict[str, Any]] = []
    for point in points:
        flagged = point.day in spike_days
        rows.append(
            {
                "dyad": title,
                "period": pd.Timestamp(point.day.isoformat(), tz="UTC"),
                "start": point.day.isoformat(),
                "label": point.day.strftime("%d %b %Y"),
                "days": 1,
                "items": point.items,
                "escalation": point.escalation,
                "deescalation": point.deescalation,
                "net": point.net,
                "spike_days": int(flagged),
                "spike_note": f"{point.day:%d %b}: {point.net:+.0f}" if flagged else "",
            }
        )
    chart = escalation_chart(pd.DataFrame(rows), [title], "day").properties(
        width=PNG_WIDTH, height=260
    )
    png: bytes = vl_convert.vegalite_to_png(chart.to_json(), scale=1)
    return png
