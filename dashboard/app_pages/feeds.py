"""Feeds: the health of every feed — failing and stale ones first."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, tables

path = str(queries.database_path())
version = queries.load_data_version(path)
feeds = queries.load_feed_health(path, version)

st.title("Feed health")
if feeds.empty:
    st.info(
        "No feed is stored yet: each configured feed is recorded on the collector's first pass. "
        "Run `tensionwatch collect --once` (or `make run`)."
    )
    st.stop()

counts = queries.count_statuses(feeds)
flags = feeds["flag"].value_counts()
columns = st.columns(5)
columns[0].metric("OK", counts["ok"], border=True)
columns[1].metric("Failing", counts["error"], border=True)
columns[2].metric("Stale", int(flags.get("stale", 0)), border=True, help="No success in 2 days")
columns[3].metric("Disabled", counts["disabled"], border=True)
columns[4].metric("Never polled", counts["never"], border=True)
st.caption(
    "**Attention**: *failing* — the last poll failed (errors in a row, since when); "
    "*stale* — no successful poll for two days; *off* — disabled or gone. "
    "Median response over the last 50 polls; next poll as the collector scheduled it. "
    "Archive files are never stale. Times are UTC."
)
st.dataframe(
    feeds,
    key="feeds_table",
    hide_index=True,
    column_order=tables.FEED_ORDER,
    column_config=tables.FEED_COLUMNS,
)
