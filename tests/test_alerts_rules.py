"""Alert rules validation, the seeded defaults, the scheduler jobs, header hygiene, and
``tensionwatch alerts test`` against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from alerts.checks import digest_due
from alerts.evaluate import load_alert_rules
from alerts.render import AlertView, build_message, clean_header
from alerts.rules import parse_rules
from alerts.schedule import EVALUATE_JOB, add_alert_jobs
from alerts.series import Evidence
from model import AlertError
from tensionwatch.cli import cli
from tensionwatch.config import load_settings
from tests.conftest import WriteConfig

if TYPE_CHECKING:
    from tests.smtpserver import SmtpRecorder

pytest_plugins = ["tests.smtpserver"]  # the smtp_server fixture


def test_seeded_rules_are_the_default_and_valid(write_config: WriteConfig) -> None:
    settings = load_settings(write_config('database = "tw.db"\narchive = false\n'))
    rules = load_alert_rules(settings)
    assert settings.alerts_source.endswith("seeds/alerts.toml")
    kinds = {rule.kind for rule in rules}
    assert kinds == {"spike", "threshold", "match", "flatline", "digest"}
    dyads = {rule.dyad.id for rule in rules if rule.kind == "spike" and rule.dyad}
    assert dyads == {
        "morocco-algeria", "morocco-polisario", "morocco-israel", "algeria-polisario",
        "israel-palestine",
    }  # fmt: skip


def test_own_alerts_replace_the_seeded_ones(write_config: WriteConfig) -> None:
    path = write_config(
        'database = "tw.db"\n[[alerts]]\nname = "one"\nkind = "flatline"\nperiod = "2h"\n'
    )
    rules = load_alert_rules(load_settings(path))
    assert [(r.name, r.period) for r in rules] == [("one", 7200.0)]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"kind": "spike", "dyad": "morocco-algeria"},
         "f.toml: alerts[0]: name: missing: every alert needs a name"),
        ({"name": "x", "kind": "surge"},
         "f.toml: alerts[0] (x): kind = 'surge': expected one of spike, threshold"),
        ({"name": "x", "kind": "spike", "dyad": "morocco"},
         "f.toml: alerts[0] (x): dyad = 'morocco': expected two actor ids joined by"),
        ({"name": "x", "kind": "spike", "dyad": "morocco-algeria", "min_items": 0},
         "f.toml: alerts[0] (x): min_items = 0: expected a whole number from 1 to 10000"),
        ({"name": "x", "kind": "spike", "dyad": "morocco-algeria", "count": 3},
         "f.toml: alerts[0] (x): count = 3: not a key of a spike rule"),
        ({"name": "x", "kind": "match"},
         "f.toml: alerts[0] (x): dyad: a match rule needs a dyad, actors or categories"),
        ({"name": "x", "kind": "flatline", "quiet_hours": "22:00"},
         "f.toml: alerts[0] (x): quiet_hours = '22:00': expected \"HH:MM-HH:MM\""),
        ({"name": "x", "kind": "digest", "timezone": "Mars/Olympus"},
         "f.toml: alerts[0] (x): timezone = 'Mars/Olympus': expected an IANA time zone"),
        ({"name": "x", "kind": "flatline", "to": ["a@b.c\r\nBcc: x@y"]},
         "f.toml: alerts[0] (x): to = "),
        ({"name": "x", "kind": "flatline", "colour": "red"},
         "f.toml: alerts[0] (x): colour = 'red': unknown key"),
        ({"name": "x", "kind": "spike", "actors": ["morocco", "israel"], "unit": "story"},
         "f.toml: alerts[0] (x): unit = 'story': stories and normalised series exist for"),
        ({"name": "x", "kind": "spike", "dyad": "morocco-algeria", "normalised": True,
          "measure": "items"},
         "f.toml: alerts[0] (x): measure = 'items': a normalised series is an index"),
    ],
)  # fmt: skip
def test_invalid_rules_name_file_rule_key_and_value(
    table: dict[str, object], expected: str
) -> None:
    with pytest.raises(AlertError) as caught:
        parse_rules([table], "f.toml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_duplicate_names_are_refused() -> None:
    table = {"name": "x", "kind": "flatline"}
    with pytest.raises(AlertError, match="used twice"):
        parse_rules([table, table], "f.toml")


def test_digest_time_is_local_and_weekly_falls_on_its_weekday() -> None:
    daily, weekly = parse_rules(
        [
            {"name": "d", "kind": "digest", "at": "08:00", "timezone": "Africa/Casablanca"},
            {"name": "w", "kind": "digest", "every": "weekly", "weekday": "monday",
             "at": "07:30", "timezone": "UTC"},
        ],
        "f.toml",
    )  # fmt: skip
    now = datetime(2024, 5, 22, 6, 0, tzinfo=UTC)  # a Wednesday, 07:00 in Casablanca
    assert digest_due(daily, now).isoformat() == "2024-05-21T08:00:00+01:00"
    assert digest_due(weekly, now).isoformat() == "2024-05-20T07:30:00+00:00"


def test_scheduler_gets_fixed_job_ids_and_a_cron_per_digest() -> None:
    rules = parse_rules(
        [{"name": "morning", "kind": "digest", "at": "08:15", "timezone": "Europe/Paris"},
         {"name": "silent", "kind": "flatline"}],
        "f.toml",
    )  # fmt: skip
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)  # jobs reach the job store (and replace) without running
    ids = add_alert_jobs(scheduler, lambda: None, rules)
    assert ids == [EVALUATE_JOB, "alerts:digest:morning"]
    cron = scheduler.get_job("alerts:digest:morning")
    assert cron is not None and "hour='8', minute='15'" in str(cron.trigger)
    assert cron.max_instances == 1 and cron.coalesce
    add_alert_jobs(scheduler, lambda: None, rules)  # again: replaced, not doubled
    assert len(scheduler.get_jobs()) == 2
    scheduler.shutdown(wait=False)


def test_feed_text_never_reaches_a_header() -> None:
    assert clean_header("Ruptures\r\nBcc: x@y\x00\u2028end") == "Ruptures Bcc: x@y end"
    evidence = Evidence("i", "T\r\nBcc: x@y", "javascript:alert(1)", "O", 1, "2024", ("w",))
    view = AlertView("r", "Subject\r\nBcc: evil@example.org", ("why",), (evidence,), None)
    msg = build_message(
        [view], mail_from="tw@example.org", to=["a@example.org"], now=datetime.now(UTC)
    )
    raw = msg.as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in headers and msg["Bcc"] is None
    assert b"Bcc: x@y" not in raw.replace(b"T Bcc: x@y", b"")  # the title, on one line
    assert b"javascript:" not in raw


def test_alerts_test_sends_text_and_html(
    smtp_server: SmtpRecorder, write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config('database = "tw.db"\narchive = false\n')
    monkeypatch.setenv("TENSIONWATCH_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("TENSIONWATCH_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("TENSIONWATCH_SMTP_SECURITY", "none")
    monkeypatch.setenv("TENSIONWATCH_MAIL_FROM", "alerts@example.org")
    done = CliRunner().invoke(
        cli, ["alerts", "test", "--to", "analyst@example.org", "--config", str(config)]
    )
    assert done.exit_code == 0, done.output
    assert "sent a test email to analyst@example.org" in done.output
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert smtp_server.envelopes[0] == ("alerts@example.org", ["analyst@example.org"])
    assert msg["Subject"] == "[tensionwatch] Test email: alert delivery works"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert "This is a test email from tensionwatch." in text.get_content()
    assert "<h2>Test email: alert delivery works</h2>" in html.get_content()


def test_alerts_test_reports_a_refusal_in_one_line(
    smtp_server: SmtpRecorder, write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        f'database = "tw.db"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        'security = "none"\n'
    )
    smtp_server.data_replies = ["550 5.1.1 No such user"]
    done = CliRunner().invoke(
        cli, ["alerts", "test", "--to", "nobody@example.org", "--config", str(config)]
    )
    assert done.exit_code == 1
    assert "tensionwatch: error: test email to nobody@example.org not sent" in done.output
    assert "550 5.1.1 No such user" in done.output


def test_alerts_test_without_smtp_says_what_to_set(write_config: WriteConfig) -> None:
    config = write_config('database = "tw.db"\n')
    done = CliRunner().invoke(
        cli, ["alerts", "test", "--to", "a@example.org", "--config", str(config)]
    )
    assert done.exit_code == 1
    assert "TENSIONWATCH_SMTP_HOST" in done.output
