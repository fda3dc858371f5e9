"""Altair charts of the dashboard: functions from frames to charts, nothing else.

Colours are fixed per dyad, so a dyad keeps its colour whatever else is
selected; categories use a **diverging** scale, reds for escalating
categories (darker = heavier weight) and blues for de-escalating ones, so
a bar's colour says which way it pushes. All hues are mid-luminance and
read on both the light and the dark theme (axes and labels follow
Streamlit's theme). Time is UTC throughout: the x scales are ``utc`` and
tooltips show the period's label, never a browser-local time.

Every chart that drills down declares one point selection named ``pick``
over the fields that identify what is behind a mark; pages read it with
``dashboard.queries.chart_pick``.
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

# diverging: escalating categories in reds/oranges by weight, de-escalating in blues
CATEGORY_COLOURS: dict[str, str] = {
    "military_violence": "#B2182B",
    "diplomatic_rupture": "#D6604D",
    "accusation_threat": "#F4A582",
    "surveillance_espionage": "#C51B7D",
    "protest_unrest": "#E9A3C9",
    "defence_cooperation": "#B35806",
    "sovereignty_dispute": "#FDB863",
    "economic_energy": "#92C5DE",
    "normalisation_cooperation": "#4393C3",
    "mediation_deescalation": "#2166AC",
}
COUNTRY_COLOURS: dict[str, str] = {
    "MA": "#C1272D",
    "DZ": "#006233",
    "IL": "#0038B8",
    "ES": "#F1BF00",
    "FR": "#6A7FDB",
    "GB": "#9D755D",
    "US": "#72B7B2",
    "EH": "#54A24B",
}
ESCALATION_COLOUR = "#D6604D"
DEESCALATION_COLOUR = "#4393C3"
EVENT_COLOUR = "#8C8C8C"

AXIS_FORMATS: dict[Granularity, str] = {"day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y"}
X_TITLES: dict[Granularity, str] = {
    "day": "Day (UTC)",
    "week": "Week starting Monday (UTC)",
    "month": "Month (UTC)",
}
ZERO = pd.DataFrame({"zero": [0.0]})
PER: dict[Granularity, str] = {"day": "per day", "week": "per week", "month": "per month"}


def colour_of(name: str, fixed: dict[str, str]) -> str:
    """A name's colour: its fixed one, else a spare one chosen by a stable hash of the name,
    so that it stays the same whatever else is on the chart."""
    return fixed.get(name) or EXTRA_COLOURS[zlib.crc32(name.encode()) % len(EXTRA_COLOURS)]


def colour_scale(names: Sequence[str], fixed: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(names), range=[colour_of(name, fixed) for name in names])


def _x(granularity: Granularity, field: str = "period") -> alt.X:
    return alt.X(
        f"{field}:T",
        title=X_TITLES[granularity],
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=AXIS_FORMATS[granularity], labelAngle=0, labelOverlap=True),
    )


STEPS: dict[str, pd.DateOffset] = {
    "hour": pd.DateOffset(hours=1),
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(days=7),
    "month": pd.DateOffset(months=1),
}


def stack_bars(
    frame: pd.DataFrame, value: str, key: str, order: Sequence[str], unit: str, at: str = "period"
) -> pd.DataFrame:
    """``frame`` with the columns a stacked bar needs to span its whole period: ``end`` (the
    period's end), ``y0``/``y1`` (positive values stacked up from zero, negative ones down,
    in ``order`` of ``key``). Drawn with x/x2 and y/y2, bars keep their width at any zoom,
    which bars on a time axis do not."""
    frame = frame.assign(_rank=frame[key].map({k: n for n, k in enumerate(order)}))
    frame = frame.sort_values([at, "_rank"]).reset_index(drop=True)
    frame["end"] = frame[at] + STEPS[unit]
    up = frame[value].clip(lower=0).groupby(frame[at]).cumsum()
    down = frame[value].clip(upper=0).groupby(frame[at]).cumsum()
    frame["y1"] = up.where(frame[value] >= 0, down)
    frame["y0"] = frame["y1"] - frame[value]
    return frame.drop(columns="_rank")


def _zero() -> alt.Chart:
    rule: alt.Chart = alt.Chart(ZERO).mark_rule(strokeDash=[4, 4], opacity=0.5).encode(y="zero:Q")
    return rule


LABEL_SLOTS = 40  # at most this many event labels across a chart's width (no overlaps)


def labelled_events(events: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The events whose labels are drawn: one-off events before yearly ones, each at least
    1/``LABEL_SLOTS`` of the span after the previous label, so vertical labels never
    overlap; the others keep their rule and tooltip."""
    gap = max(pd.Timedelta(days=1), (last - first) / LABEL_SLOTS)
    recurring = events["recurring"] if "recurring" in events.columns else False
    kept: list[pd.Timestamp] = []
    keep = []
    for _, event in events.assign(_yearly=recurring).sort_values(["_yearly", "day"]).iterrows():
        if all(abs(event["day"] - day) >= gap for day in kept):
            kept.append(event["day"])
            keep.append(event.name)
    return events.loc[sorted(keep)]


def event_layers(
    events: pd.DataFrame, span: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> list[alt.Chart]:
    """Dashed vertical rules at the calendar's events (hover for what happened), labelled
    at the top where there is room (``labelled_events`` over ``span``, the chart's first and
    last period; without it every event is labelled); yearly events are fainter."""
    if events.empty:
        return []
    labelled = labelled_events(events, *span) if span is not None else events
    base = alt.Chart(events).encode(
        x=alt.X("day:T", scale=alt.Scale(type="utc")),
        tooltip=[
            alt.Tooltip("utcyearmonthdate(day):T", title="Day (UTC)", format="%d %b %Y"),
            alt.Tooltip("label:N", title="Event"),
            alt.Tooltip("note:N", title="What happened"),
        ],
    )
    rules = base.mark_rule(strokeDash=[3, 3], color=EVENT_COLOUR, strokeWidth=1.2).encode(
        opacity=alt.condition("datum.recurring", alt.value(0.35), alt.value(0.8))
        if "recurring" in events.columns
        else alt.value(0.8)
    )
    labels = (
        alt.Chart(labelled)
        .encode(x=alt.X("day:T", scale=alt.Scale(type="utc")))
        .mark_text(
            angle=270,
            align="right",
            baseline="bottom",
            dx=-4,
            dy=-2,
            fontSize=10,
            color=EVENT_COLOUR,
        )
        .encode(text="label:N", y=alt.value(0))
    )
    return [rules, labels]


def _span(frame: pd.DataFrame, field: str = "period") -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if frame.empty:
        return None
    return frame[field].min(), frame[field].max()


def escalation_chart(
    chart: pd.DataFrame,
    dyads: Sequence[str],
    granularity: Granularity,
    events: pd.DataFrame | None = None,
    band: bool = True,
) -> alt.LayerChart:
    """The net escalation index per dyad over time: each dyad's baseline band (shaded),
    spikes (triangles) and the calendar's events (dashed rules).

    Clicking a point selects it (parameter ``pick``: its dyad and period start).
    """
    pick = alt.selection_point(name="pick", fields=["dyad", "start"], on="click")
    colour = alt.Color(
        "dyad:N",
        title="Dyad",
        scale=colour_scale(dyads, DYAD_COLOURS),
        legend=alt.Legend(orient="top", labelLimit=220, symbolType="stroke", symbolOpacity=1),
    )
    y_title = f"Net escalation index ({PER[granularity]}, weight points)"
    y = alt.Y("net:Q", title=y_title)
    tooltip = [
        alt.Tooltip("dyad:N", title="Dyad"),
        alt.Tooltip("label:N", title="Period"),
        alt.Tooltip("items:Q", title="Stories or items"),
        alt.Tooltip("escalation:Q", title="Escalation", format="+.0f"),
        alt.Tooltip("deescalation:Q", title="De-escalation", format="+.0f"),
        alt.Tooltip("net:Q", title="Net index", format="+.0f"),
        alt.Tooltip("spike_note:N", title="Spike days"),
    ]
    if {"expected", "upper"} <= set(chart.columns):
        tooltip[-1:-1] = [
            alt.Tooltip("expected:Q", title="Baseline (expected)", format="+.0f"),
            alt.Tooltip("upper:Q", title="Band top", format="+.0f"),
        ]
    # a click on a legend entry brings one dyad forward: its band shows, the others fade
    focus = alt.selection_point(name="focus", fields=["dyad"], bind="legend")
    base = alt.Chart(chart).encode(x=_x(granularity), color=colour)
    layers: list[alt.Chart] = []
    if band and {"expected", "upper"} <= set(chart.columns):
        band_opacity = (
            alt.when(focus, empty=False)
            .then(alt.value(0.22))
            .when(focus)
            .then(alt.value(0.07))
            .otherwise(alt.value(0.0))
        )
        layers.append(
            base.mark_area(interpolate="step-after")
            .encode(y=alt.Y("expected:Q", title=y_title, stack=None), y2="upper:Q")
            .encode(opacity=band_opacity)
        )
    lines = (
        base.encode(y=y, tooltip=tooltip)
        .mark_line(strokeWidth=2, interpolate="monotone")
        .encode(opacity=alt.when(focus).then(alt.value(1.0)).otherwise(alt.value(0.15)))
        .add_params(focus)
    )
    points = (  # only where something is behind the point: a click lists it
        base.encode(y=y, tooltip=tooltip)
        .transform_filter(alt.datum.items > 0)
        .mark_circle(size=46)
        .encode(opacity=alt.condition(pick, alt.value(0.95), alt.value(0.3)))
        .add_params(pick)
    )
    spikes = (
        base.encode(y=y, tooltip=tooltip)
        .transform_filter(alt.datum.spike_days > 0)
        .mark_point(shape="triangle-up", size=170, filled=True, opacity=1, yOffset=-12)
    )
    layers += [_zero(), lines, points, spikes]
    if events is not None:
        layers += event_layers(events, _span(chart))
    return alt.LayerChart(layer=layers, height=400)


def trend_chart(
    series: pd.DataFrame,
    names: Sequence[str],
    granularity: Granularity,
    measure: str,
    title: str,
    events: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """One line per chosen dyad or actor; clicking a point selects its series and period."""
    pick = alt.selection_point(name="pick", fields=["series", "start"], on="click")
    y = alt.Y(f"{measure}:Q", title=title)
    encoded = alt.Chart(series).encode(
        x=_x(granularity),
        y=y,
        color=alt.Color(
            "series:N",
            title="Dyad or actor",
            scale=colour_scale(names, DYAD_COLOURS),
            legend=alt.Legend(orient="top", labelLimit=220),
        ),
        tooltip=[
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("label:N", title="Period"),
            alt.Tooltip("items:Q", title="Stories or items", format=".1f"),
            alt.Tooltip("escalation:Q", title="Escalation", format="+.1f"),
            alt.Tooltip("deescalation:Q", title="De-escalation", format="+.1f"),
            alt.Tooltip("net:Q", title="Net", format="+.1f"),
        ],
    )
    layers: list[alt.Chart] = [
        _zero(),
        encoded.mark_line(strokeWidth=2, interpolate="monotone"),
        encoded.mark_circle(size=40)
        .encode(opacity=alt.condition(pick, alt.value(0.95), alt.value(0.3)))
        .add_params(pick),
    ]
    if events is not None:
        layers += event_layers(events, _span(series))
    return alt.LayerChart(layer=layers, height=340)


def category_chart(breakdown: pd.DataFrame, granularity: Granularity, unit: str) -> alt.Chart:
    """Weight per category and period: escalating categories stacked above zero,
    de-escalating ones below. Clicking a bar selects its category and period."""
    pick = alt.selection_point(name="pick", fields=["category", "start"], on="click")
    categories = sorted(
        breakdown["category"].unique(),
        key=lambda c: (list(CATEGORY_COLOURS).index(c) if c in CATEGORY_COLOURS else 99, c),
    )
    bars = stack_bars(breakdown, "weight", "category", categories, granularity)
    chart: alt.Chart = (
        alt.Chart(bars, height=300)
        .mark_bar(x2Offset=-1)
        .encode(
            x=_x(granularity),
            x2="end:T",
            y=alt.Y("y1:Q", title=["Escalation (+) / de-escalation (−)", f"weight points, {unit}"]),
            y2="y0:Q",
            color=alt.Color(
                "category:N",
                title="Category",
                scale=colour_scale(categories, CATEGORY_COLOURS),
                sort=categories,
                legend=alt.Legend(orient="right", labelLimit=220),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                alt.Tooltip("label:N", title="Period"),
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("items:Q", title="Stories or items", format=".1f"),
                alt.Tooltip("weight:Q", title="Weight", format="+.1f"),
            ],
        )
        .add_params(pick)
    )
    return chart


def country_chart(countries: pd.DataFrame, granularity: Granularity, unit: str) -> alt.Chart:
    """Stories (or items) per outlet country and period, stacked; a bar selects its country
    and period."""
    pick = alt.selection_point(name="pick", fields=["country", "start"], on="click")
    names = sorted(countries["country"].unique())
    bars = stack_bars(countries, "items", "country", names, granularity)
    chart: alt.Chart = (
        alt.Chart(bars, height=260)
        .mark_bar(x2Offset=-1)
        .encode(
            x=_x(granularity),
            x2="end:T",
            y=alt.Y("y1:Q", title=unit.capitalize()),
            y2="y0:Q",
            color=alt.Color(
                "country:N",
                title="Outlet country",
                scale=colour_scale(names, COUNTRY_COLOURS),
                legend=alt.Legend(orient="right"),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                alt.Tooltip("label:N", title="Period"),
                alt.Tooltip("country:N", title="Outlet country"),
                alt.Tooltip("items:Q", title=unit.capitalize(), format=".1f"),
                alt.Tooltip("net:Q", title="Net index", format="+.1f"),
            ],
        )
        .add_params(pick)
    )
    return chart


def hourly_chart(hourly: pd.DataFrame, names: Sequence[str]) -> alt.Chart:
    """The last seven days per UTC hour: net index per dyad."""
    bars = stack_bars(hourly, "net", "series", list(names), "hour", at="hour")
    chart: alt.Chart = (
        alt.Chart(bars, height=200)
        .mark_bar()
        .encode(
            x2="end:T",
            y2="y0:Q",
            x=alt.X(
                "hour:T",
                title="Hour (UTC)",
                scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%a %d %b %H:00", labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y("y1:Q", title="Net index per hour"),
            color=alt.Color(
                "series:N", title="Dyad", scale=colour_scale(names, DYAD_COLOURS), legend=None
            ),
            tooltip=[
                alt.Tooltip("series:N", title="Dyad"),
                alt.Tooltip(
                    "utcyearmonthdatehours(hour):T", title="Hour (UTC)", format="%d %b %H:00"
                ),
                alt.Tooltip("items:Q", title="Stories or items"),
                alt.Tooltip("net:Q", title="Net", format="+.0f"),
            ],
        )
    )
    return chart
