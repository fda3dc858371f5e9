"""One evaluation of every alert rule: check → record once → hold or queue → deliver.

``run_alerts(db, settings, now)`` is idempotent and safe to call after every
collection pass and every minute:

1. messages left ``sending`` by a process that died become ``unknown``;
2. each enabled rule is checked (``alerts.checks``); a firing becomes an
   alert only if its (rule, series, episode) was never recorded and the
   rule's cooldown for that series is over; the history row and the cooldown
   stamp are written in one transaction, so a restart neither resends nor
   forgets;
3. an alert fired inside its rule's quiet hours is held; held alerts whose
   quiet hours are over are sent together, one email per recipient list;
4. each new email is recorded with its Message-ID and bytes *before* it is
   sent; then every message due is delivered (``alerts.deliver``), or written
   to the outbox folder when no SMTP host is configured.

Delivery problems are recorded on the message and never raised: alerts must
not break collection.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.checks import Firing, check_rule
from alerts.deliver import (
    Sleep,
    SmtpTransport,
    Transport,
    deliver_message,
    outbox_path,
    write_outbox,
)
from alerts.render import AlertView, build_message
from alerts.rules import AlertRule, parse_rules
from alerts.series import Evidence
from model import AlertError
from storage.aggregates import refresh_aggregates
from storage.alert_store import (
    AlertHistoryRow,
    NewAlert,
    get_alert_state,
    get_alerts,
    has_episode,
    list_due_messages,
    list_held_alerts,
    mark_interrupted_sends,
    max_item_rowid,
    record_alert,
    record_message,
    set_watermark,
    update_message,
)
from tensionwatch.config import Settings

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

AlertRecord = AlertHistoryRow
_RUNNING = threading.Lock()  # one evaluation at a time in this process (jobs run on threads)


def load_alert_rules(settings: Settings) -> tuple[AlertRule, ...]:
    return parse_rules(settings.alerts, settings.alerts_source or "(config)")


def prime_alert_rules(db: sqlite_utils.Database, rules: Sequence[AlertRule]) -> None:
    """Match rules that never ran start from what is stored now, so every item the collector
    stores from here on is news to them (and nothing stored before they existed is)."""
    mark: int | None = None
    for rule in rules:
        if not (rule.enabled and rule.kind == "match"):
            continue
        if get_alert_state(db, rule.name, rule.series).watermark is None:
            mark = max_item_rowid(db) if mark is None else mark
            set_watermark(db, rule.name, rule.series, mark)


def dashboard_base(settings: Settings) -> str:
    host = settings.dashboard_host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.dashboard_port}"


def outbox_dir(settings: Settings) -> Path:
    return settings.database.parent / "outbox"


def in_quiet_hours(rule: AlertRule, now: datetime) -> bool:
    if rule.quiet_hours is None:
        return False
    return rule.quiet_hours.contains(now.astimezone(rule.zone).time().replace(tzinfo=None))


def cooling_down(db: sqlite_utils.Database, rule: AlertRule, now: datetime) -> bool:
    if rule.cooldown <= 0:
        return False
    last = get_alert_state(db, rule.name, rule.series).last_fired
    return last is not None and now - last < timedelta(seconds=rule.cooldown)


def view_of(
    db: sqlite_utils.Database,
    rule_name: str,
    title: str,
    detail: dict[str, Any],
    rules: dict[str, AlertRule],
) -> AlertView:
    """An alert ready to render from what the history keeps (its chart drawn again)."""
    items = tuple(
        Evidence(
            id=i["id"], title=i["title"], url=i["url"], outlet=i["outlet"],
            outlets=int(i["outlets"]), published=i["published"], words=tuple(i["words"]),
        )
        for i in detail.get("items", [])
    )  # fmt: skip
    chart_png = None
    chart = detail.get("chart")
    rule = rules.get(rule_name)
    if chart and rule is not None:
        from alerts.chart import render_chart_png

        chart_png = render_chart_png(
            db, rule, date.fromisoformat(chart["start"]), date.fromisoformat(chart["end"]),
            date.fromisoformat(chart["mark"]),
        )  # fmt: skip
    return AlertView(
        rule=rule_name,
        subject=title,
        why=tuple(detail.get("why", [])),
        items=items,
        link=detail.get("link"),
        chart_png=chart_png,
    )


def queue_message(
    db: sqlite_utils.Database,
    settings: Settings,
    alerts: Sequence[AlertHistoryRow],
    recipients: Sequence[str],
    rules: dict[str, AlertRule],
    now: datetime,
) -> str:
    """Render the email for ``alerts`` and record it (status ``pending``, or ``outbox`` with
    its .eml written when there is no SMTP host or no recipient). Returns its Message-ID."""
    views = [view_of(db, a.rule, a.title, a.detail, rules) for a in alerts]
    msg = build_message(views, mail_from=settings.smtp.mail_from, to=recipients, now=now)
    message_id = str(msg["Message-ID"])
    raw = msg.as_bytes()
    ids = [a.id for a in alerts]
    if settings.smtp.host and recipients:
        record_message(db, ids, message_id, recipients, str(msg["Subject"]), raw, "pending", now)
    else:
        # recorded first, then written: a crash in between leaves a row, never a lost alert
        path = outbox_path(outbox_dir(settings), message_id, now)
        record_message(db, ids, message_id, recipients, str(msg["Subject"]), raw, "outbox", now,
                       eml_path=str(path))  # fmt: skip
        try:
            write_outbox(path, raw)
        except AlertError as e:  # kept in the database, shown with its reason
            update_message(db, message_id, "failed", now, error=str(e))
            log.error("%s", e)
        else:
            log.info("alert written to %s", path)
    return message_id


def record_firing(
    db: sqlite_utils.Database, firing: Firing, now: datetime, held: bool
) -> int | None:
    rule = firing.rule
    return record_alert(
        db,
        NewAlert(
            rule=rule.name,
            kind=rule.kind,
            series=rule.series,
            episode=firing.episode,
            fired=now,
            title=firing.subject,
            observed=firing.observed,
            expected=firing.expected,
            period=firing.period,
            detail=json.dumps(firing.detail(), ensure_ascii=False),
            item_ids=tuple(item.id for item in firing.items),
            held=held,
        ),
    )


def evaluate_rule(
    db: sqlite_utils.Database, rule: AlertRule, now: datetime, dashboard: str
) -> list[int]:
    """Check one rule and record what is new; return the new alerts' row ids."""
    new: list[int] = []
    for firing in check_rule(db, rule, now, dashboard):
        if firing.episode and not has_episode(db, rule.name, rule.series, firing.episode):
            if cooling_down(db, rule, now):
                log.info("%s: %s suppressed (cooldown)", rule.name, firing.episode)
            else:
                alert_id = record_firing(db, firing, now, in_quiet_hours(rule, now))
                if alert_id is not None:
                    new.append(alert_id)
        if firing.watermark is not None:
            set_watermark(db, rule.name, rule.series, firing.watermark)
    return new


def release_held(
    db: sqlite_utils.Database, settings: Settings, rules: dict[str, AlertRule], now: datetime
) -> None:
    """Held alerts whose quiet hours are over go out together, one email per recipient list."""
    groups: dict[tuple[str, ...], list[AlertHistoryRow]] = {}
    for alert in list_held_alerts(db):
        rule = rules.get(alert.rule)
        if rule is not None and in_quiet_hours(rule, now):
            continue
        groups.setdefault(rule.to if rule else (), []).append(alert)
    for recipients, alerts in groups.items():
        queue_message(db, settings, alerts, recipients, rules, now)


def deliver_due(
    db: sqlite_utils.Database,
    settings: Settings,
    clock: Callable[[], datetime],
    transport: Transport | None,
    sleep: Sleep,
) -> None:
    if not settings.smtp.host:
        return
    transport = transport or SmtpTransport(settings.smtp)
    for message in list_due_messages(db, clock()):
        status = deliver_message(db, message, transport, settings.smtp.mail_from, clock, sleep)
        if status not in ("sent", "skipped"):
            log.warning("alert email %s: %s", message.subject, status)


def run_alerts(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    *,
    rules: Sequence[AlertRule] | None = None,
    transport: Transport | None = None,
    sleep: Sleep = time.sleep,
    clock: Callable[[], datetime] | None = None,
) -> list[AlertRecord]:
    """Evaluate every enabled rule at ``now``, record and deliver; return the new alerts
    (with their delivery status after this run)."""
    rules = load_alert_rules(settings) if rules is None else rules
    with _RUNNING:
        return _run(db, settings, now, rules, transport, sleep, clock or (lambda: now))


def _run(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    rules: Sequence[AlertRule],
    transport: Transport | None,
    sleep: Sleep,
    clock: Callable[[], datetime],
) -> list[AlertRecord]:
    by_name = {rule.name: rule for rule in rules}
    mark_interrupted_sends(db, now)
    if any(rule.enabled and rule.uses_aggregates for rule in rules):
        refresh_aggregates(db)  # stories and normalised series read agg_daily
    dashboard = dashboard_base(settings)
    new: list[int] = []
    for rule in rules:
        if rule.enabled:
            new += evaluate_rule(db, rule, now, dashboard)
    for alert in get_alerts(db, new):
        rule = by_name[alert.rule]
        if alert.delivery_status != "held":
            queue_message(db, settings, [alert], rule.to, by_name, now)
    release_held(db, settings, by_name, now)
    deliver_due(db, settings, clock, transport, sleep)
    return get_alerts(db, new)
