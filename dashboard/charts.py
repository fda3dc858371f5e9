"""Altair charts of the dashboard: functions from frames to charts, nothing else.

Colours are fixed per dyad and per category, so a dyad keeps its colour
whatever else is selected, and they are mid-luminance hues that read on
both the light and the dark theme (axes and labels follow Streamlit's
theme). Time is UTC throughout: the x scales are ``utc`` and tooltips show
the period's label, never a browser-local time.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import altair as alt
import pandas as pd

from indicators import Granularity

DYAD_COLOURS: dict[str, str] = {
    "morocco-algeria": "#E45756",
    "morocco-polisario": "#F58518",
    "morocco-israel": "#4C9BE8",
    "algeria-polisario": "#54A24B",
    "israel-palestine": "#B279A2",
}
EXTRA_COLOURS = ("#72B7B2", "#EECA3B", "#FF9DA6", "#9D755D", "#BAB0AC", "#8CD17D")

# escalating categories in warm hues, de-escalating ones in cool hues
CATEGORY_COLOURS: dict[str, str] = {
    "military_violence": "#E45756",
    "diplomatic_rupture": "#F58518",
    "accusation_threat": "#EECA3B",
    "surveillance_espionage": "#B279A2",
    "protest_unrest": "#FF9DA6",
    "defence_cooperation": "#9D755D",
    "sovereignty_dispute": "#BAB0AC",
    "economic_energy": "#72B7B2",
    "normalisation_cooperation": "#4C9BE8",
    "mediation_deescalation": "#54A24B",
}

AXIS_FORMATS: dict[Granularity, str] = {"day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y"}
X_TITLES: dict[Granularity, str] = {
    "day": "Day (UTC)",
    "week": "Week starting Monday (UTC)",
    "month": "Month (UTC)",
}
ZERO = pd.DataFrame({"net": [0.0]})
PER: dict[Granularity, str] = {"day": "per day", "week": "per week", "month": "per month"}


def colour_of(name: str, fixed: dict[str, str]) -> str:
    """A name's colour: its fixed one, else a spare one chosen by a stable hash of the name,
    so that it stays the same whatever else is on the chart."""
    return fixed.get(name) or EXTRA_COLOURS[zlib.crc32(name.encode()) % len(EXTRA_COLOURS)]


def colour_scale(names: Sequence[str], fixed: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(names), range=[colour_of(name, fixed) for name in names])


def _x(granularity: Granularity) -> alt.X:
    return alt.X(
        "period:T",
        title=X_TITLES[granularity],
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=AXIS_FORMATS[granularity], labelAngle=0, labelOverlap=True),
    )


def escalation_chart(
    chart: pd.DataFrame, dyads: Sequence[str], granularity: Granularity
) -> alt.LayerChart:
    """The net escalation index per dyad over time, spikes marked with triangles.

    Clicking a point selects it (parameter ``pick``: its dyad and period start).
    """
    pick = alt.selection_point(name="pick", fields=["dyad", "start"], on="click")
    colour = alt.Color(
        "dyad:N",
        title="Dyad",
        scale=colour_scale(dyads, DYAD_COLOURS),
        legend=alt.Legend(orient="top", labelLimit=220),
    )
    y = alt.Y("net:Q", title=f"Net escalation index ({PER[granularity]}, sum of weights)")
    tooltip = [
        alt.Tooltip("dyad:N", title="Dyad"),
        alt.Tooltip("label:N", title="Period"),
        alt.Tooltip("items:Q", title="Items"),
        alt.Tooltip("escalation:Q", title="Escalation", format="+.0f"),
        alt.Tooltip("deescalation:Q", title="De-escalation", format="+.0f"),
        alt.Tooltip("net:Q", title="Net index", format="+.0f"),
        alt.Tooltip("spike_note:N", title="Spike days"),
    ]
    base = alt.Chart(chart).encode(x=_x(granularity), y=y, color=colour, tooltip=tooltip)
    lines = base.mark_line(strokeWidth=2)
    points = base.mark_circle(size=40).encode(
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.35))
    )
    spikes = base.transform_filter(alt.datum.spike_days > 0).mark_point(
        shape="triangle-up", size=170, filled=True, opacity=1, yOffset=-12
    )
    zero = alt.Chart(ZERO).mark_rule(strokeDash=[4, 4], opacity=0.5).encode(y="net:Q")
    return alt.LayerChart(
        layer=[zero, lines, points.add_params(pick), spikes],
        height=380,
    )


def category_chart(breakdown: pd.DataFrame, granularity: Granularity) -> alt.Chart:
    """Summed weight per category and period, escalating above zero, de-escalating below."""
    categories = sorted(
        breakdown["category"].unique(),
        key=lambda c: (list(CATEGORY_COLOURS).index(c) if c in CATEGORY_COLOURS else 99, c),
    )
    chart: alt.Chart = (
        alt.Chart(breakdown, height=260)
        .mark_bar()
        .encode(
            x=_x(granularity),
            y=alt.Y("weight:Q", title=f"Weight {PER[granularity]}", stack="zero"),
            color=alt.Color(
                "category:N",
                title="Category",
                scale=colour_scale(categories, CATEGORY_COLOURS),
                legend=alt.Legend(orient="right", labelLimit=220),
            ),
            order=alt.Order("weight:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("start:N", title="Period from"),
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("items:Q", title="Items"),
                alt.Tooltip("weight:Q", title="Weight", format="+.0f"),
            ],
        )
    )
    return chart
