"""``tensionwatch alerts …``: check, run, test, preview, backtest and history of alert rules.

Wired into the main command by ``cli.add_command(alerts)``. ``preview``,
``backtest`` and ``history`` open the database read-only; ``run`` writes
the alert history like the collector does.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import click

from model import AlertError
from tensionwatch.cli import config_option, parse_since, settings_of


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use YYYY-MM-DD", param_hint=option
        ) from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _moment(value: str | None) -> datetime:
    return parse_since(value) or datetime.now(UTC)


@click.group()
def alerts() -> None:
    """Alert rules and alert emails."""


@alerts.command("check")
@config_option
@click.pass_context
def alerts_check(ctx: click.Context) -> None:
    """Validate the alert rules and list them."""
    from alerts.evaluate import load_alert_rules

    settings = settings_of(ctx)
    rules = load_alert_rules(settings)
    click.echo(f"alert rules from {settings.alerts_source or '(none)'}:")
    for rule in rules:
        state = "" if rule.enabled else " (disabled)"
        to = ", ".join(rule.to) or "outbox only"
        click.echo(f"  {rule.name:<28} {rule.kind:<9} {rule.series}  → {to}{state}")
    smtp = settings.smtp
    where = f"{smtp.host}:{smtp.port} ({smtp.security})" if smtp.host else "none (outbox only)"
    click.echo(f"smtp: {where}")
    click.echo("ok")


@alerts.command("run")
@config_option
@click.option("--at", "at", help="Evaluate as of this UTC date-time (default: now).")
@click.pass_context
def alerts_run(ctx: click.Context, at: str | None) -> None:
    """Evaluate every rule once, record and deliver what fires."""
    from alerts.evaluate import run_alerts
    from storage.db import open_database

    settings = settings_of(ctx)
    db = open_database(settings.database)
    try:
        fired = run_alerts(db, settings, _moment(at))
    finally:
        db.conn.close()
    for alert in fired:
        click.echo(f"{alert.delivery_status:<9} {alert.rule}: {alert.title}")
    click.echo(f"{len(fired)} new alerts")


@alerts.command("test")
@config_option
@click.option("--to", "to", required=True, help="Recipient of the test email.")
@click.pass_context
def alerts_test(ctx: click.Context, to: str) -> None:
    """Send a test email (text and HTML) with the configured SMTP settings."""
    from alerts.deliver import DeliveryFailure, SmtpTransport
    from alerts.render import AlertView, build_message
    from tensionwatch.values import Invalid, parse_address

    settings = settings_of(ctx)
    try:
        address = parse_address(to)
    except Invalid as e:
        raise click.BadParameter(f"{to!r}: {e}", param_hint="--to") from None
    smtp = settings.smtp
    if not smtp.host:
        raise AlertError(
            "no SMTP server configured: set smtp.host in the config or TENSIONWATCH_SMTP_HOST"
        )
    view = AlertView(
        rule="test",
        subject="Test email: alert delivery works",
        why=(
            "This is a test email from tensionwatch.",
            f"It was sent through {smtp.host}:{smtp.port} ({smtp.security}) from {smtp.mail_from}.",
        ),
        items=(),
        link=None,
    )
    msg = build_message([view], mail_from=smtp.mail_from, to=[address], now=datetime.now(UTC))
    try:
        SmtpTransport(smtp).send(msg.as_bytes(), smtp.mail_from, [address])
    except DeliveryFailure as e:
        raise AlertError(f"test email to {address} not sent: {e.reason}") from e
    click.echo(f"sent a test email to {address} via {smtp.host}:{smtp.port} ({msg['Message-ID']})")


@alerts.command("preview")
@config_option
@click.argument("rule_name", metavar="RULE")
@click.option("--at", "at", help="Evaluate as of this UTC date-time (default: now).")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the .eml here.")
@click.pass_context
def alerts_preview(ctx: click.Context, rule_name: str, at: str | None, out: str | None) -> None:
    """Write the email RULE would send, without sending or recording anything.

    When the rule has nothing to say at that moment, the preview shows its
    latest firing over stored history instead (spike, threshold and match rules).
    """
    from alerts.preview import preview_message
    from storage.db import open_database_readonly

    settings = settings_of(ctx)
    db = open_database_readonly(settings.database)
    try:
        msg, note = preview_message(db, settings, rule_name, _moment(at))
    finally:
        db.conn.close()
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(msg.as_bytes())
    else:
        from alerts.deliver import outbox_path, write_outbox
        from alerts.evaluate import outbox_dir

        path = outbox_path(outbox_dir(settings), "preview-" + str(msg["Message-ID"]), _moment(at))
        write_outbox(path, msg.as_bytes())
    if note:
        click.echo(note)
    click.echo(f"subject: {msg['Subject']}")
    click.echo(f"written to {path}")


@alerts.command("backtest")
@config_option
@click.argument("rule_name", metavar="RULE")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the days as JSON.")
@click.pass_context
def alerts_backtest(
    ctx: click.Context, rule_name: str, start: str, end: str, as_json: bool
) -> None:
    """List the days RULE would have fired over stored history (read-only)."""
    from alerts.backtest import backtest_rule
    from alerts.evaluate import load_alert_rules
    from alerts.rules import find_rule
    from storage.db import open_database_readonly

    settings = settings_of(ctx)
    rule = find_rule(load_alert_rules(settings), rule_name)
    first, last = _day(start, "--from"), _day(end, "--to")
    db = open_database_readonly(settings.database)
    try:
        days = backtest_rule(db, rule, first, last)
    finally:
        db.conn.close()
    if as_json:
        rows = [
            {"day": d.day.isoformat(), "observed": d.observed, "expected": d.expected,
             "items": d.items}
            for d in days
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    for d in days:
        if rule.kind == "spike":  # an index, signed, against its baseline
            expected = "" if d.expected is None else f" (expected {d.expected:+.1f})"
            shown = f"observed {d.observed:+.0f}{expected}, {d.items} items"
        else:  # a count of matching items
            shown = _count(d.items, "matching item")
            shown += f" (fires at {rule.count})" if rule.kind == "threshold" else ""
        click.echo(f"{d.day.isoformat()}  {shown}")
    click.echo(f"{rule.name}: {_count(len(days), 'day')} from {first} to {last}")


@alerts.command("history")
@config_option
@click.option("--limit", default=50, show_default=True, help="How many alerts, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert, as a list.")
@click.pass_context
def alerts_history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The alerts fired, newest first, with their delivery status (read-only)."""
    from storage.alert_store import list_alert_history
    from storage.db import open_database_readonly

    db = open_database_readonly(settings_of(ctx).database)
    try:
        rows = list_alert_history(db, limit)
    finally:
        db.conn.close()
    if as_json:
        out = [
            {"fired": r.fired.isoformat(), "rule": r.rule, "kind": r.kind, "series": r.series,
             "episode": r.episode, "title": r.title, "observed": r.observed,
             "expected": r.expected, "period": r.period, "items": list(r.item_ids),
             "delivery_status": r.delivery_status, "delivery_error": r.delivery_error,
             "message_id": r.message_id}
            for r in rows
        ]  # fmt: skip
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for r in rows:
        error = f"  — {r.delivery_error}" if r.delivery_error else ""
        click.echo(f"{r.fired:%Y-%m-%d %H:%M} {r.delivery_status:<9} {r.rule}: {r.title}{error}")
