"""What a rule would send, without sending or recording anything (``alerts preview``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from alerts.backtest import backtest_rule
from alerts.checks import Firing, check_rule, digest_due
from alerts.evaluate import dashboard_base, load_alert_rules, view_of
from alerts.render import build_message
from alerts.rules import DAY, AlertRule, find_rule
from alerts.series import first_day
from tensionwatch.config import Settings

if TYPE_CHECKING:
    import sqlite_utils


def preview_message(
    db: sqlite_utils.Database, settings: Settings, rule_name: str, now: datetime
) -> tuple[EmailMessage, str | None]:
    """The email ``rule_name`` would send at ``now``, and a note when it is not that.

    When the rule has nothing to say at ``now``, the preview is its latest
    firing over stored history (spike, threshold and match rules; a match
    rule shows that day's matching items), or a placeholder.
    """
    rules = load_alert_rules(settings)
    rule = find_rule(rules, rule_name)
    dashboard = dashboard_base(settings)
    # a digest as it went out (or will go out) at its latest time, whenever it is previewed
    at = digest_due(rule, now) if rule.kind == "digest" else now
    firings = [f for f in check_rule(db, rule, at, dashboard) if f.episode]
    note = None
    if not firings and rule.kind in ("spike", "threshold", "match"):
        begin = first_day(db)
        days = backtest_rule(db, rule, begin, now.date()) if begin else []
        if days:
            day = days[-1].day
            end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            replay = rule
            if rule.kind == "match":  # "new" has no meaning in the past: the day's matches
                replay = replace(rule, kind="threshold", count=1, window=DAY)
            firings = [
                f
                for f in check_rule(db, replay, end_of_day - timedelta(seconds=1), dashboard)
                if f.episode
            ]
            note = f"{rule.name} has nothing to say now: this is its latest firing, on {day}"
    if not firings:
        firings = [placeholder(rule, now)]
        note = f"{rule.name} has nothing to say now, nor over history: an empty preview"
    by_name = {r.name: r for r in rules}
    views = [view_of(db, rule.name, f.subject, f.detail(), by_name) for f in firings]
    msg = build_message(views, mail_from=settings.smtp.mail_from, to=rule.to, now=now)
    return msg, note


def placeholder(rule: AlertRule, now: datetime) -> Firing:
    return Firing(
        rule=rule,
        episode="preview",
        subject=f"{rule.name}: nothing to report at {now:%Y-%m-%d %H:%M} UTC",
        observed=None,
        expected=None,
        period="",
        why=("The rule has nothing to say at this moment.",),
    )
