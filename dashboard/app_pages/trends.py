"""Trends: chosen dyads and actors over time, what drives them, and whose press reports it."""

from __future__ import annotations

from functools import partial

import streamlit as st

from dashboard import charts, markup, queries, state, tables

path = str(queries.database_path())
version = queries.load_data_version(path)
summary = queries.load_summary(path, version)
options = queries.load_filter_options(path, version)
MEASURES = {
    "Net index": "net",
    "Escalation": "escalation",
    "De-escalation": "deescalation",
    "Count": "items",
}
SCALES = ("Raw", "Per 100 collected")


def remember_pick(key: str) -> None:
    """Note which chart was clicked last: its selection decides what is listed."""
    st.session_state["t_last_pick"] = key


DEFAULTS = {
    "t_dyads": list(options.dyads[:2]),
    "t_actors": [],
    "t_categories": [],
    "t_period": "Last 2 years",
    "t_granularity": "Month",
    "t_unit": queries.DEFAULT_UNIT,
    "t_measure": "Net index",
    "t_scale": "Raw",
    "t_events": True,
}
state.restore("t_dyads", DEFAULTS["t_dyads"], options.dyads)
state.restore("t_actors", DEFAULTS["t_actors"], options.actors)
state.restore("t_categories", DEFAULTS["t_categories"], options.categories)
state.restore("t_period", DEFAULTS["t_period"], list(queries.PERIODS))
state.restore("t_granularity", DEFAULTS["t_granularity"], list(queries.GRANULARITIES))
state.restore("t_unit", DEFAULTS["t_unit"], list(queries.UNITS))
state.restore("t_measure", DEFAULTS["t_measure"], list(MEASURES))
state.restore("t_scale", DEFAULTS["t_scale"], list(SCALES))
state.restore("t_events", DEFAULTS["t_events"])

st.title("Trends")
st.caption(
    "Compare dyads and actors, see which categories push the index up or down, and which "
    "countries' outlets report it. All times UTC."
)
with st.container(border=True):
    first, second, third = st.columns([2, 2, 2])
    dyads = first.multiselect("Dyads", options.dyads, key="t_dyads")
    actors = second.multiselect("Actors", options.actors, key="t_actors")
    categories = third.multiselect(
        "Categories (only these)", options.categories, key="t_categories"
    )
    a, b, c, d, e, f = st.columns([1.2, 1.3, 1.2, 1.6, 1.6, 0.8], vertical_alignment="bottom")
    period = a.selectbox("Period", list(queries.PERIODS), key="t_period")
    step = b.segmented_control(
        "Aggregation", list(queries.GRANULARITIES), required=True, key="t_granularity"
    )
    unit_label = c.segmented_control("Count", list(queries.UNITS), required=True, key="t_unit")
    measure_label = d.selectbox("Measure", list(MEASURES), key="t_measure")
    scale = e.segmented_control(
        "Scale",
        SCALES,
        required=True,
        key="t_scale",
        help="Per 100 collected: divided by everything collected in the period, so a feed "
        "added or gone quiet does not fake a rise or a fall.",
    )
    show_events = f.toggle("Events", key="t_events")
state.publish(DEFAULTS)

if not dyads and not actors:
    st.info("Pick at least one dyad or actor.")
    st.stop()
granularity = queries.GRANULARITIES[step or "Month"]
unit = queries.UNITS[unit_label or queries.DEFAULT_UNIT]
noun = "stories" if unit == "story" else "items"
normalised = scale == SCALES[1]
measure = MEASURES[measure_label]
start, end = queries.period_bounds(summary, queries.PERIODS[period])
trends = queries.load_trends(
    path,
    version,
    tuple(dyads),
    tuple(actors),
    tuple(categories),
    start,
    end,
    granularity,
    unit,
    normalised,
)
per = "per 100 collected" if normalised else charts.PER[granularity]
unit_title = f"{measure_label} ({noun}, {per})"

st.subheader(f"{measure_label}, {start:%d %b %Y} – {end:%d %b %Y}")
events = queries.load_events(start, end, tuple(dyads)) if show_events else None
names = [*dyads, *actors]
line_event = st.altair_chart(
    charts.trend_chart(trends.series, names, granularity, measure, unit_title, events),
    key="trend_chart",
    on_select=partial(remember_pick, "trend_chart"),
    selection_mode="pick",
    width="stretch",
)

st.subheader("What drives it: categories")
st.caption(
    f"Weight by category ({noun}, {per}) over the chosen dyads"
    + (" (the chosen actors, as no dyad is chosen)" if not dyads else "")
    + ". Escalating categories stack above zero in reds, de-escalating ones below in blues. "
    "Click a bar for what is behind it."
)
category_event = None
if trends.categories.empty:
    st.caption("No categorised story in this period.")
else:
    category_event = st.altair_chart(
        charts.category_chart(trends.categories, granularity, per),
        key="category_chart",
        on_select=partial(remember_pick, "category_chart"),
        selection_mode="pick",
        width="stretch",
    )

country_event = None
if dyads:
    st.subheader("Whose press: outlet country")
    st.caption(
        f"{noun.capitalize()} of the chosen dyads by the country of the outlet that carried "
        "them (a story carried in two countries counts in both). Click a bar for its items."
    )
    if trends.countries.empty:
        st.caption("Nothing in this period.")
    else:
        country_event = st.altair_chart(
            charts.country_chart(trends.countries, granularity, f"{noun} ({per})"),
            key="country_chart",
            on_select=partial(remember_pick, "country_chart"),
            selection_mode="pick",
            width="stretch",
        )

st.subheader(f"Last 7 days, hour by hour (to {summary.last_published:%d %b %H:00} UTC)")
if dyads:
    hourly = queries.load_hourly_frame(path, version, tuple(dyads), unit)
    if hourly.empty or not hourly["items"].any():
        st.caption(f"No {noun} about these dyads in the last 7 days.")
    else:
        st.altair_chart(charts.hourly_chart(hourly, dyads), width="stretch")
else:
    st.caption("Pick a dyad for its hourly view.")

# drill-down: the last chart clicked decides what is listed
drill = None
picks = {"trend_chart": (line_event, "series"), "category_chart": (category_event, "category"),
         "country_chart": (country_event, "country")}  # fmt: skip
order = sorted(picks, key=lambda k: k == st.session_state.get("t_last_pick"))
for event, field in (picks[k] for k in order):
    fields = queries.chart_pick(event)
    period_start = queries.picked_period(fields)
    if fields and period_start is not None and field in fields:
        drill = (field, fields[field], period_start)
if drill is not None:
    field, value, since = drill
    until = queries.period_end(since, granularity)
    spec: dict[str, tuple[str, ...]] = {"dyads": tuple(dyads)}
    if field == "series":
        spec = {"dyads": (value,)} if value in dyads else {"actors": (value,)}
        if categories:
            spec["categories"] = tuple(categories)
    elif field == "category":
        spec["categories"] = (value,)
        if not dyads:
            spec = {"actors": tuple(actors), "categories": (value,)}
    else:
        spec["countries"] = (value,)
    label = queries.period_label(since, granularity)
    shown_unit = "item" if field == "country" else unit  # every copy carried in that country
    st.subheader(f"Behind {markup.escape_markdown(value)}, {label}")
    st.dataframe(
        queries.load_items(path, version, since=since, until=until, unit=shown_unit, **spec),
        hide_index=True,
        column_order=tables.ITEM_ORDER,
        column_config=tables.ITEM_COLUMNS,
    )
