"""Overview: each seeded dyad's last week against its baseline, then the index over time."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, markup, queries, state, tables

path = str(queries.database_path())
version = queries.load_data_version(path)
summary = queries.load_summary(path, version)
options = queries.load_filter_options(path, version)

DEFAULTS = {
    "dyads": list(options.dyads[:5]),
    "period": queries.DEFAULT_PERIOD,
    "granularity": queries.DEFAULT_GRANULARITY,
    "unit": queries.DEFAULT_UNIT,
    "events": True,
    "band": True,
}
state.restore("dyads", DEFAULTS["dyads"], options.dyads)
state.restore("period", DEFAULTS["period"], list(queries.PERIODS))
state.restore("granularity", DEFAULTS["granularity"], list(queries.GRANULARITIES))
state.restore("unit", DEFAULTS["unit"], list(queries.UNITS))
state.restore("events", DEFAULTS["events"])
state.restore("band", DEFAULTS["band"])

st.title("Escalation by dyad")
st.markdown(
    "Is tension between Morocco, Algeria, Israel and the Polisario rising, against what "
    "baseline, and why?"
)
if summary.last_published is not None and summary.first_published is not None:
    st.caption(
        f"**As of {summary.last_published:%d %b %Y, %H:%M} UTC** (the latest item; all times "
        f"UTC) · {summary.items:,} items since {summary.first_published:%d %b %Y}"
    )

with st.container(border=True):
    left, middle = st.columns([4, 1], vertical_alignment="bottom")
    dyads = left.multiselect("Dyads", options.dyads, key="dyads")
    period = middle.selectbox("Period", list(queries.PERIODS), key="period")
    right, units, toggles, band_toggle, _ = st.columns(
        [1.6, 1.4, 1, 1.2, 1.8], vertical_alignment="bottom"
    )
    step = right.segmented_control(
        "Aggregation", list(queries.GRANULARITIES), required=True, key="granularity"
    )
    unit_label = units.segmented_control(
        "Count",
        list(queries.UNITS),
        required=True,
        key="unit",
        help="Stories: a wire story republished by several outlets counts once. "
        "Items: every copy counts.",
    )
    show_events = toggles.toggle("Events", key="events", help="Draw the event calendar")
    show_band = band_toggle.toggle(
        "Baseline band", key="band", help="Shade each dyad's usual range up to its spike line"
    )
state.publish(DEFAULTS)

if not dyads:
    st.info("Pick at least one dyad.")
    st.stop()
granularity = queries.GRANULARITIES[step or queries.DEFAULT_GRANULARITY]
unit = queries.UNITS[unit_label or queries.DEFAULT_UNIT]
noun = "stories" if unit == "story" else "items"
view = queries.load_overview(
    path, version, tuple(dyads), queries.PERIODS[period], granularity, unit
)
if queries.pending_items(version):
    st.warning(
        f"{queries.pending_items(version):,} new items are not in the charts yet: the collector "
        "adds them after its current pass.",
        icon=":material/hourglass_top:",
    )

st.subheader(f"Last {queries.METRIC_DAYS} days against the usual level")
st.caption(
    f"Net escalation index of the {noun} of the {queries.METRIC_DAYS} days to "
    f"{view.end:%d %b %Y}, against the median of the four weeks before (red: more tension "
    f"than usual). Sparkline: daily net index over the last {queries.SPARK_DAYS} days."
)
for row_start in range(0, len(view.rows), 5):
    chunk = view.rows[row_start : row_start + 5]
    for column, row in zip(st.columns(5), chunk, strict=False):
        column.metric(
            row.dyad,
            f"{row.current:+.0f}",
            None if row.delta is None else f"{row.delta:+.0f} vs usual",
            delta_color="inverse" if row.delta else "off",
            delta_arrow="auto" if row.delta else "off",
            chart_data=list(row.spark),
            chart_type="line",
            border=True,
            help=(
                f"{row.items} {noun} in the last {queries.METRIC_DAYS} days. Usual: the median "
                f"of the {row.windows} weeks before ({row.expected:+.0f})."
                if row.expected is not None
                else "Not enough history yet for a usual level."
            ),
        )
top = queries.top_stories_frame(view.rows)
st.markdown(f"**Top stories of the week** (most outlets first, {noun} to {view.end:%d %b %Y})")
if top.empty:
    st.caption(f"No story about these dyads in the last {queries.METRIC_DAYS} days.")
else:
    st.dataframe(top, hide_index=True, column_config=tables.STORY_COLUMNS)

st.subheader(f"Net escalation index, {view.start:%d %b %Y} – {view.end:%d %b %Y}")
st.caption(
    "Each story adds its category weights (military violence +10 … mediation −5). "
    "The shaded band runs from each dyad's baseline (its days' 28-day medians) up to its "
    "spike threshold (+3 robust SD); ▲ marks a period holding a spike day. Dashed lines are "
    "calendar events. Click a point to list what is behind it; click a dyad in the legend "
    "to bring it and its band forward."
)
events = queries.load_events(view.start, view.end, tuple(dyads)) if show_events else None
event = st.altair_chart(
    charts.escalation_chart(view.chart, dyads, granularity, events, bool(show_band)),
    key="escalation_chart",
    on_select="rerun",
    selection_mode="pick",
    width="stretch",
)
picked = queries.chart_pick(event)
dyad, start = queries.picked_dyad(picked), queries.picked_period(picked)
if dyad is not None and start is not None:
    end = queries.period_end(start, granularity)
    label = queries.period_label(start, granularity)
    st.markdown(f"**{noun.capitalize()} behind {markup.escape_markdown(dyad)}, {label}** (UTC)")
    st.dataframe(
        queries.load_items(path, version, dyads=(dyad,), since=start, until=end, unit=unit),
        hide_index=True,
        column_order=tables.ITEM_ORDER,
        column_config=tables.ITEM_COLUMNS,
    )

st.subheader("Escalation episodes")
if view.episodes.empty:
    st.caption("No day in this period rose above its baseline band.")
else:
    st.caption(
        f"Runs of spike days (a day above its 28-day baseline band; spike days at most "
        f"{queries.EPISODE_GAP} days apart make one episode), newest first; click a header to "
        "sort. Select one for the stories behind it."
    )
    chosen = st.dataframe(
        view.episodes,
        key="episodes_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config=tables.EPISODE_COLUMNS,
        height=300,
    )
    for selected in queries.selected_rows(chosen):
        episode = queries.episode_at(view.episodes, selected)
        if episode is not None:
            episode_dyad, first, last = episode
            when = f"{first:%d %b %Y}" + (f" – {last:%d %b %Y}" if last != first else "")
            st.markdown(
                f"**{noun.capitalize()} of {markup.escape_markdown(episode_dyad)}, {when}** (UTC)"
            )
            st.dataframe(
                queries.load_items(
                    path,
                    version,
                    dyads=(episode_dyad,),
                    since=first,
                    until=queries.period_end(last, "day"),
                    unit=unit,
                ),
                hide_index=True,
                column_order=tables.ITEM_ORDER,
                column_config=tables.ITEM_COLUMNS,
            )
