"""The tensionwatch dashboard: ``tensionwatch dashboard`` or ``streamlit run dashboard/app.py``.

The entry script sets the page up, asks who is there when a password hash
or OIDC login is configured (``dashboard.auth``), finds the database, tells
a new user what to do when there is none yet (or it holds no items), and
hands over to the page chosen in the navigation. It only reads:
``dashboard.queries`` opens the database read-only.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import auth, markup, queries
from model import TensionwatchError
from tensionwatch.config import load_settings

st.set_page_config(
    page_title="tensionwatch — Maghreb tension monitor", page_icon="📈", layout="wide"
)

try:
    settings = load_settings()
except TensionwatchError as e:
    st.error(str(e))
    st.stop()


def _login_gate() -> None:
    """Stop the script unless the visitor is logged in (when a login is configured)."""
    if settings.dashboard_oidc:
        if not st.user.is_logged_in:
            st.title("tensionwatch")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        return
    encoded = settings.dashboard_password_hash
    if not encoded or st.session_state.get("authenticated"):
        return
    try:
        auth.check_hash_format(encoded)
    except TensionwatchError as e:
        st.error(str(e))
        st.stop()
    st.title("tensionwatch")
    with st.form("login"):
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in", type="primary"):
            failures = int(st.session_state.get("login_failures", 0))
            time.sleep(min(2.0, 0.25 * failures))  # slows guessing within a session
            if auth.verify_password(password, encoded):
                st.session_state["authenticated"] = True
                st.rerun()
            st.session_state["login_failures"] = failures + 1
            st.error("Wrong password.")
    st.stop()


_login_gate()

overview = st.Page(
    "app_pages/overview.py", title="Overview", icon=":material/monitoring:", default=True
)
trends = st.Page("app_pages/trends.py", title="Trends", icon=":material/trending_up:")
items = st.Page("app_pages/items.py", title="Items", icon=":material/article:")
feeds = st.Page("app_pages/feeds.py", title="Feeds", icon=":material/rss_feed:")
alerts = st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:")
rules = st.Page("app_pages/rules.py", title="Rules", icon=":material/rule:")
page = st.navigation([overview, trends, items, feeds, alerts, rules])

with st.sidebar:
    st.markdown("### tensionwatch")
    st.caption("Morocco · Algeria · Israel · Polisario — escalation monitor from the news")

try:
    path = queries.database_path()
except TensionwatchError as e:
    st.error(str(e))
    st.stop()
if not path.is_file():
    st.info(
        f"**No database yet** at `{markup.escape_markdown(str(path))}`.\n\n"
        "Collect some news first: `make run` collects the bundled offline archive and the "
        "live feeds and serves this dashboard; `tensionwatch collect --once` does one "
        "collection pass. Then reload this page.",
        icon=":material/info:",
    )
    st.stop()
try:
    version = queries.load_data_version(str(path))
    summary = queries.load_summary(str(path), version)
except TensionwatchError as e:
    st.error(str(e))
    st.stop()

with st.sidebar:
    if summary.last_published is not None:
        st.caption(f"As of {summary.last_published:%Y-%m-%d %H:%M} UTC · {summary.items:,} items")

if summary.items == 0 and page.url_path not in (feeds.url_path, alerts.url_path):
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
