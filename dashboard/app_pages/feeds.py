"""Feeds: the health of every feed — status, last success, errors and item counts."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, tables

path = str(queries.database_path())
feeds = queries.load_feed_health(path)

st.title("Feed health")
if feeds.empty:
    st.info(
        "No feed is stored yet: each configured feed is recorded on the collector's first pass. "
        "Run `tensionwatch collect --once` (or `make run`)."
    )
    st.stop()

for column, (status, count) in zip(
    st.columns(4), queries.count_statuses(feeds).items(), strict=True
):
    column.metric(status.capitalize(), count, border=True)
st.caption(
    "**ok**: last poll worked · **error**: failing (errors in a row; since when) · "
    "**disabled**: switched off or gone · **never**: not polled yet. Times are UTC."
)
st.dataframe(
    feeds,
    key="feeds_table",
    hide_index=True,
    column_order=tables.FEED_ORDER,
    column_config=tables.FEED_COLUMNS,
)
