"""The tensionwatch dashboard: ``tensionwatch dashboard`` or ``streamlit run dashboard/app.py``.

The entry script sets the page up, finds the database, tells a new user
what to do when there is none yet (or it holds no items), and hands over to
the page chosen in the navigation. It only reads: ``dashboard.queries``
opens the database read-only.
"""

from __future__ import annotations

import streamlit as st

from dashboard import queries
from model import TensionwatchError

st.set_page_config(page_title="tensionwatch — tension monitor", page_icon="📈", layout="wide")

overview = st.Page(
    "app_pages/overview.py", title="Overview", icon=":material/monitoring:", default=True
)
items = st.Page("app_pages/items.py", title="Items", icon=":material/article:")
feeds = st.Page("app_pages/feeds.py", title="Feeds", icon=":material/rss_feed:")
page = st.navigation([overview, items, feeds, st.Page("app_pages/rules.py", title="Rules")])

try:
    path = queries.database_path()
except TensionwatchError as e:
    st.error(str(e))
    st.stop()
if not path.is_file():
    st.info(
        f"**No database yet** at `{queries.escape_markdown(str(path))}`.\n\n"
        "Collect some news first: `make run` collects the bundled offline archive and the "
        "live feeds and serves this dashboard; `tensionwatch collect --once` does one "
        "collection pass. Then reload this page.",
        icon=":material/info:",
    )
    st.stop()
try:
    summary = queries.load_summary(str(path))
except TensionwatchError as e:
    st.error(str(e))
    st.stop()

with st.sidebar:
    if summary.last_published is not None:
        st.caption(f"As of {summary.last_published:%Y-%m-%d %H:%M} UTC · {summary.items:,} items")

if summary.items == 0 and page.url_path != feeds.url_path:
    st.info(
        "**No items yet.** The database exists but nothing has been collected into it. "
        "Run `tensionwatch collect --once` (or `make run`), then reload this page. "
        "The Feeds page shows whether the feeds were polled and why any failed.",
        icon=":material/info:",
    )
    st.stop()

try:
    page.run()
except TensionwatchError as e:
    st.error(str(e))
