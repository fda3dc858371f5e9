"""Overview: the escalation index of each dyad over time, its spikes, and the last 30 days."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries, tables

path = str(queries.database_path())
summary = queries.load_summary(path)
options = queries.load_filter_options(path)

st.title("Escalation by dyad")
if summary.last_published is not None and summary.first_published is not None:
    st.caption(
        f"**As of {summary.last_published:%d %b %Y, %H:%M} UTC** (the latest item) · "
        f"{summary.items:,} items since {summary.first_published:%d %b %Y}"
    )

left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
dyads = left.multiselect("Dyads", options.dyads, default=list(options.dyads[:5]), key="dyads")
period = middle.selectbox(
    "Period",
    list(queries.PERIODS),
    index=list(queries.PERIODS).index(queries.DEFAULT_PERIOD),
    key="period",
)
step = right.segmented_control(
    "Aggregation",
    list(queries.GRANULARITIES),
    default=queries.DEFAULT_GRANULARITY,
    required=True,
    key="granularity",
)
if not dyads:
    st.info("Pick at least one dyad.")
    st.stop()
granularity = queries.GRANULARITIES[step or queries.DEFAULT_GRANULARITY]
view = queries.load_overview(path, tuple(dyads), queries.PERIODS[period], granularity)

st.subheader(f"Last {queries.METRIC_DAYS} days against the usual level")
for row_start in range(0, len(view.metrics), 5):
    for column, metric in zip(st.columns(5), view.metrics[row_start : row_start + 5], strict=False):
        column.metric(
            metric.dyad,
            f"{metric.current:+.0f}",
            None if metric.delta is None else f"{metric.delta:+.0f} vs usual",
            delta_color="inverse" if metric.delta else "off",
            delta_arrow="auto" if metric.delta else "off",
            border=True,
            help=(
                f"Net escalation index of the {metric.items} items of the {queries.METRIC_DAYS} "
                f"days to {view.end:%d %b %Y}. Usual: the median of the {metric.windows} "
                f"{queries.METRIC_DAYS}-day windows before ({metric.expected:+.0f})."
                if metric.expected is not None
                else "Not enough history yet for a usual level."
            ),
        )

st.subheader(f"Net escalation index, {view.start:%d %b %Y} – {view.end:%d %b %Y}")
st.caption(
    "Each item adds its category weights (military violence +10 … mediation −5). "
    "▲ marks a period holding a spike: a day above its 28-day baseline band. "
    "Click a point to list its items."
)
event = st.altair_chart(
    charts.escalation_chart(view.chart, dyads, granularity),
    key="escalation_chart",
    on_select="rerun",
    selection_mode="pick",
    width="stretch",
)
picked = queries.chart_pick(event)
if picked is not None:
    dyad, start = picked
    end = queries.period_end(start, granularity)
    label = queries.period_label(start, granularity)
    st.markdown(f"**Items behind {queries.escape_markdown(dyad)}, {label}** (UTC)")
    st.dataframe(
        queries.load_items(path, dyad=dyad, since=start, until=end),
        hide_index=True,
        column_order=tables.ITEM_ORDER,
        column_config=tables.ITEM_COLUMNS,
    )

st.subheader("Spikes")
if view.spikes.empty:
    st.caption("No day in this period rose above its baseline band.")
else:
    st.caption(
        "Days whose net index rose above their 28-day baseline band. Select one for its items."
    )
    chosen = st.dataframe(
        view.spikes,
        key="spikes_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config=tables.SPIKE_COLUMNS,
    )
    for row in queries.selected_rows(chosen):
        spike = queries.spike_at(view.spikes, row)
        if spike is not None:
            dyad, day = spike
            st.markdown(f"**Items of {dyad} on {day:%d %b %Y}** (UTC)")
            st.dataframe(
                queries.load_items(
                    path, dyad=dyad, since=day, until=queries.period_end(day, "day")
                ),
                hide_index=True,
                column_order=tables.ITEM_ORDER,
                column_config=tables.ITEM_COLUMNS,
            )

st.subheader("What drives the index")
focus = st.selectbox("Dyad", dyads, key="focus_dyad")
breakdown = queries.load_category_breakdown(path, focus, view.start, view.end, granularity)
if breakdown.empty:
    st.caption(f"No categorised items for {focus} in this period.")
else:
    st.altair_chart(charts.category_chart(breakdown, granularity), width="stretch")
