"""Items: the latest items, filtered and searched; select one to see why it is tagged."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, tables

path = str(queries.database_path())
summary = queries.load_summary(path)
options = queries.load_filter_options(path)
ANY = "Any dyad"

st.title("Items")
search = st.text_input(
    "Search titles and summaries",
    key="search",
    placeholder="e.g. airspace, Guerguerat, gaz*",
    help="Every word must appear; accents and case do not matter; end a word with * for a prefix.",
)
dyad_column, actor_column, category_column, period_column = st.columns([1, 1, 1, 1])
dyad = dyad_column.selectbox("Dyad", [ANY, *options.dyads], key="dyad")
actors = actor_column.multiselect("Actors (all of them)", options.actors, key="actors")
categories = category_column.multiselect(
    "Categories (any of them)", options.categories, key="categories"
)
period = period_column.selectbox(
    "Period", list(queries.PERIODS), index=len(queries.PERIODS) - 1, key="items_period"
)

start, end = queries.period_bounds(summary, queries.PERIODS[period])
items = queries.load_items(
    path,
    dyad=None if dyad == ANY else dyad,
    actors=tuple(actors),
    categories=tuple(categories),
    search=search or "",
    since=start,
    until=queries.period_end(end, "day"),
)
if items.empty:
    st.info("No item matches these filters.")
    st.stop()

shown = f"the newest {len(items)}" if len(items) >= queries.ITEM_LIMIT else f"{len(items)}"
st.caption(f"{shown} items, newest first. Select a row to see why it is tagged.")
table = st.dataframe(
    items,
    key="items_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    column_order=tables.ITEM_ORDER,
    column_config=tables.ITEM_COLUMNS,
)

for row in queries.selected_rows(table):
    item_id = queries.item_id_at(items, row)
    detail = queries.load_item_detail(path, item_id) if item_id else None
    if detail is None:
        continue
    item = detail.item
    lang = queries.escape_markdown(item.lang or "?")
    with st.container(border=True):
        st.subheader(queries.escape_markdown(item.title))
        st.caption(
            f"{item.published:%Y-%m-%d %H:%M} UTC · {queries.escape_markdown(item.outlet)}"
            f" · carried by {item.outlets} feed(s) · language {lang}"
            f" · escalation index {item.index:+.0f}"
        )
        st.text(item.summary or "(no summary)")
        if item.url is not None:
            st.link_button("Open the article", item.url, icon=":material/open_in_new:")
        st.markdown(
            "**Why it is tagged**: every label, the rule that fired and the words it matched"
        )
        st.dataframe(detail.evidence, hide_index=True, column_config=tables.EVIDENCE_COLUMNS)
