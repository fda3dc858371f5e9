"""Items: every stored item, filtered and searched; open one to see why it is tagged."""

from __future__ import annotations

import streamlit as st

from dashboard import markup, queries, state, tables

path = str(queries.database_path())
version = queries.load_data_version(path)
summary = queries.load_summary(path, version)
options = queries.load_filter_options(path, version)
LANG_NAMES = {"en": "English", "fr": "French", "ar": "Arabic", "es": "Spanish", "he": "Hebrew"}

DEFAULTS = {
    "search": "",
    "i_dyads": [],
    "i_actors": [],
    "i_categories": [],
    "i_feeds": [],
    "i_langs": [],
    "items_period": "All",
    "i_unit": "Items",
}
state.restore("search", "")
state.restore("i_dyads", [], options.dyads)
state.restore("i_actors", [], options.actors)
state.restore("i_categories", [], options.categories)
state.restore("i_feeds", [], options.feeds)
state.restore("i_langs", [], options.langs)
state.restore("items_period", "All", list(queries.PERIODS))
state.restore("i_unit", "Items", list(queries.UNITS))

st.title("Items")
with st.container(border=True):
    search_column, period_column, unit_column = st.columns([3, 1, 1], vertical_alignment="bottom")
    search = search_column.text_input(
        "Search titles and summaries",
        key="search",
        placeholder="e.g. airspace, Guerguerat, gaz*",
        help="Every word must appear; accents and case do not matter; end a word with * for "
        "a prefix.",
    )
    period = period_column.selectbox("Period", list(queries.PERIODS), key="items_period")
    unit_label = unit_column.segmented_control(
        "Show",
        list(queries.UNITS),
        required=True,
        key="i_unit",
        help="Stories: one row per story (its first item), with how many outlets carried it.",
    )
    a, b, c, d, e = st.columns(5)
    dyads = a.multiselect("Dyads (any of them)", options.dyads, key="i_dyads")
    actors = b.multiselect("Actors (all of them)", options.actors, key="i_actors")
    categories = c.multiselect("Categories (any of them)", options.categories, key="i_categories")
    feeds = d.multiselect("Feeds", options.feeds, key="i_feeds")
    langs = e.multiselect(
        "Languages",
        options.langs,
        key="i_langs",
        format_func=lambda code: LANG_NAMES.get(code, code or "unknown"),
    )
state.publish(DEFAULTS)

start, end = queries.period_bounds(summary, queries.PERIODS[period])
unit = queries.UNITS[unit_label or "Items"]
items = queries.load_items(
    path,
    version,
    dyads=tuple(dyads),
    actors=tuple(actors),
    categories=tuple(categories),
    feeds=tuple(feeds),
    langs=tuple(langs),
    search=search or "",
    since=start,
    until=queries.period_end(end, "day"),
    unit=unit,
)
if items.empty:
    st.info("Nothing matches these filters. Widen the period or remove a filter.")
    st.stop()

noun = "stories" if unit == "story" else "items"
shown = f"the newest {len(items)}" if len(items) >= queries.ITEM_LIMIT else f"{len(items)}"
info, csv_column, json_column = st.columns([4, 1, 1], vertical_alignment="center")
info.caption(
    f"{shown} {noun}, newest first, {start:%d %b %Y} – {end:%d %b %Y} (UTC). "
    "Select a row to see every tag, the words that fired it and the rule."
)
csv_column.download_button(
    "CSV",
    queries.items_csv(items),
    file_name="tensionwatch-items.csv",
    mime="text/csv",
    icon=":material/download:",
    key="export_csv",
    on_click="ignore",
)
json_column.download_button(
    "JSON",
    queries.items_json(items),
    file_name="tensionwatch-items.json",
    mime="application/json",
    icon=":material/download:",
    key="export_json",
    on_click="ignore",
)
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
    detail = queries.load_item_detail(path, version, item_id) if item_id else None
    if detail is None:
        continue
    item = detail.item
    lang = markup.escape_markdown(item.lang or "?")
    with st.container(border=True):
        st.markdown(f"### {detail.title_marked}")
        st.caption(
            f"{item.published:%Y-%m-%d %H:%M} UTC · {markup.escape_markdown(item.outlet)}"
            f" · story carried by {item.story_outlets} outlet(s), {item.story_items} item(s)"
            f" · language {lang} · escalation index {item.index:+.0f}"
        )
        st.markdown(detail.summary_marked or "*(no summary)*")
        if item.url is not None:
            st.link_button("Open the article", item.url, icon=":material/open_in_new:")
        st.markdown(
            "**Why it is tagged**: every label, the rule that fired and the words it matched "
            "(highlighted above)"
        )
        st.dataframe(detail.evidence, hide_index=True, column_config=tables.EVIDENCE_COLUMNS)
