"""Alerts: every alert fired, newest first — why it fired, the items behind it, its email."""

from __future__ import annotations

import streamlit as st

from dashboard import alert_history, markup, queries, state, tables

path = str(queries.database_path())
version = queries.load_data_version(path)
alerts, details = alert_history.load_alerts(path, alert_history.load_alert_version(path))

st.title("Alerts")
st.caption(
    "Each alert the collector fired, newest first: when, which rule, what it observed against "
    "what it expected, the items behind it and what became of its email. Times are UTC."
)
if alerts.empty:
    st.info(
        "**No alert has fired yet.** Alert rules are `[[alerts]]` tables in the configuration "
        "(without any, the seeded rules of `seeds/alerts.toml` apply: a spike rule per seeded "
        "dyad, a rupture match, a fighting threshold, a collection flatline and a daily "
        "digest). The collector evaluates them after collecting; "
        "`tensionwatch alerts run` evaluates them once now, and "
        "`tensionwatch alerts backtest RULE --from DATE --to DATE` shows when a rule would "
        "have fired over the stored history. See docs/alerts.md.",
        icon=":material/notifications_off:",
    )
    st.stop()

counts = alert_history.count_deliveries(alerts)
fired, delivered, waiting, attention = st.columns(4)
fired.metric("Alerts", f"{len(alerts):,}", border=True, help="Newest 1,000 at most")
delivered.metric(
    "Delivered",
    counts["ok"],
    border=True,
    help="Sent, or written to the outbox (no SMTP server), or no email to send",
)
waiting.metric("On their way", counts["waiting"], border=True, help="Held, queued or being retried")
attention.metric(
    "Need a look",
    counts["attention"],
    border=True,
    help="Failed, or unknown (the connection broke after sending: never resent)",
)

rules = sorted(alerts["rule"].unique())
deliveries = sorted(alerts["delivery"].unique())
DEFAULTS: dict[str, list[str]] = {"a_rules": [], "a_delivery": []}
state.restore("a_rules", [], rules)
state.restore("a_delivery", [], deliveries)
with st.container(border=True):
    left, right = st.columns(2)
    chosen_rules = left.multiselect("Rules", rules, key="a_rules", placeholder="Every rule")
    chosen_delivery = right.multiselect(
        "Delivery", deliveries, key="a_delivery", placeholder="Any delivery"
    )
state.publish(DEFAULTS)

shown = alert_history.filter_alerts(alerts, chosen_rules, chosen_delivery)
if shown.empty:
    st.info("No alert matches these filters.")
    st.stop()
st.caption(f"{len(shown):,} alerts. Select one for its reasons and the items behind it.")
table = st.dataframe(
    shown,
    key="alerts_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    column_order=tables.ALERT_ORDER,
    column_config=tables.ALERT_COLUMNS,
)

for row in queries.selected_rows(table):
    alert_id = alert_history.alert_id_at(shown, row)
    detail = details.get(alert_id) if alert_id is not None else None
    if detail is None:
        continue
    record = shown.iloc[row]
    with st.container(border=True):
        st.markdown(f"### {markup.escape_markdown(detail.title)}")
        st.caption(
            f"Fired {record['fired']:%Y-%m-%d %H:%M} UTC by rule "
            f"{markup.escape_markdown(str(record['rule']))} ({record['kind']}) · "
            f"delivery: {markup.escape_markdown(str(record['delivery']))}"
            + (f", {int(record['attempts'])} attempt(s)" if record["attempts"] else "")
        )
        if record["error"]:
            st.warning(
                f"Last delivery error: {markup.escape_markdown(str(record['error']))}",
                icon=":material/mail_lock:",
            )
        for line in detail.why:
            st.markdown(f"- {markup.escape_markdown(line)}")
        if not detail.item_ids:
            st.caption("No item is attached to this alert (a flatline or a digest).")
            continue
        st.markdown(f"**The {len(detail.item_ids)} items behind it**")
        st.dataframe(
            queries.load_items(path, version, ids=detail.item_ids, limit=len(detail.item_ids)),
            hide_index=True,
            column_order=tables.ITEM_ORDER,
            column_config=tables.ITEM_COLUMNS,
        )
