"""Alerts over a real SQLite file and a real SMTP server on 127.0.0.1, with an injected clock.

Each test builds its database with ``tests.dbfactory`` (the sample half-year
has a morocco-algeria rupture burst on 2024-05-20), writes a config with its
own ``[[alerts]]`` and calls ``run_alerts`` at chosen moments; the email is
parsed back from what the server received.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alerts.deliver import SmtpTransport
from alerts.evaluate import run_alerts
from storage.alert_store import list_alert_history
from storage.db import open_database, transaction
from tensionwatch.config import Settings, load_settings
from tests.conftest import WriteConfig
from tests.dbfactory import (
    SPIKE_DAY,
    ItemSpec,
    _insert_item,
    build_database,
    sample_feeds,
    sample_items,
)

if TYPE_CHECKING:
    from tests.smtpserver import SmtpRecorder

pytest_plugins = ["tests.smtpserver"]  # the smtp_server fixture

AT_SPIKE = datetime(2024, 5, 20, 18, 0, tzinfo=UTC)
EVIL_TITLE = "Algeria recalls envoy <script>alert(1)</script>\r\nBcc: x@y"
SPIKE_RULE = """
[[alerts]]
name = "ma-dz-spike"
kind = "spike"
dyad = "morocco-algeria"
to = ["analyst@example.org"]
"""


def evil_items() -> list[ItemSpec]:
    """The sample, plus on the spike day an item whose title tries header injection and
    markup, and one whose link is not http(s)."""
    return [
        *sample_items(),
        ItemSpec(
            EVIL_TITLE,
            f"{SPIKE_DAY.isoformat()}T15:00:00Z",
            ("algeria", "morocco"),
            ("diplomatic_rupture",),
        ),
        ItemSpec(
            "Morocco condemns Algeria, again",
            f"{SPIKE_DAY.isoformat()}T16:00:00Z",
            ("algeria", "morocco"),
            ("accusation_threat",),
            url="javascript:alert(1)",
        ),
    ]


def make_settings(
    write_config: WriteConfig, tmp_path: Path, rules: str, smtp: SmtpRecorder | None = None
) -> Settings:
    smtp_table = ""
    if smtp is not None:
        smtp_table = f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n'
    database = tmp_path / "tw.db"
    config = write_config(f'database = "{database}"\narchive = false\n{smtp_table}{rules}')
    return load_settings(config)


def run(settings: Settings, now: datetime, **kwargs: object) -> list[str]:
    """One evaluation on a fresh connection (as a restarted process would); the new alerts'
    delivery statuses."""
    db = open_database(settings.database)
    try:
        fired = run_alerts(db, settings, now, **kwargs)  # type: ignore[arg-type]
        return [alert.delivery_status for alert in fired]
    finally:
        db.conn.close()


def history(settings: Settings) -> list[tuple[str, str, str | None]]:
    db = open_database(settings.database)
    try:
        return [(a.rule, a.delivery_status, a.delivery_error) for a in list_alert_history(db)]
    finally:
        db.conn.close()


@pytest.fixture
def spike_settings(
    write_config: WriteConfig, tmp_path: Path, smtp_server: SmtpRecorder
) -> Settings:
    build_database(tmp_path / "tw.db", evil_items(), sample_feeds())
    return make_settings(write_config, tmp_path, SPIKE_RULE, smtp_server)


def parts(msg: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    text = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage) and isinstance(html_part, EmailMessage)
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    return text.get_content(), html_part.get_content(), images  # type: ignore[return-value]


def test_spike_email_arrives_with_evidence_chart_and_no_injection(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    assert run(spike_settings, AT_SPIKE) == ["sent"]
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert smtp_server.envelopes[0] == ("tensionwatch@localhost", ["analyst@example.org"])
    assert msg["Subject"].startswith("[tensionwatch] Morocco–Algeria escalation")
    assert "against a baseline of" in msg["Subject"] or "× baseline" in msg["Subject"]
    assert msg["Bcc"] is None and "x@y" not in str(msg["Subject"])
    assert all(name.lower() != "bcc" for name in msg)

    text, body, images = parts(msg)
    assert "on 2024-05-20" in text and "Expected" in text
    assert "Algeria cuts ties with Morocco" in text
    assert "matched: " in text and "cuts ties" in text
    assert "http://127.0.0.1:8501/items?dyad=morocco-algeria&since=2024-05-20" in text
    assert "javascript:" not in text and "javascript:" not in body
    # feed text is escaped in the HTML, never markup
    assert "<script>" not in body
    assert html.escape("<script>alert(1)</script>") in body
    assert 'href="https://news.example/' in body
    # the inline chart is referenced from the HTML by its Content-ID
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in body
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert history(spike_settings) == [("ma-dz-spike", "sent", None)]


def test_restart_between_evaluations_sends_nothing_twice(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    assert run(spike_settings, AT_SPIKE) == ["sent"]
    reloaded = load_settings(spike_settings.config_path)  # a new process: new objects, same DB
    assert run(reloaded, AT_SPIKE + timedelta(minutes=1)) == []
    assert run(reloaded, AT_SPIKE + timedelta(hours=5)) == []
    assert len(smtp_server.messages) == 1


def test_temporary_failure_is_retried_and_delivers_once(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    slept: list[float] = []
    assert run(spike_settings, AT_SPIKE, sleep=slept.append) == ["sent"]
    assert smtp_server.attempts == 2 and len(smtp_server.messages) == 1
    assert slept == [2.0]


def test_temporary_failures_defer_then_a_later_run_delivers(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    smtp_server.data_replies = ["421 4.3.2 Busy"] * 3
    assert run(spike_settings, AT_SPIKE, sleep=lambda s: None) == ["deferred"]
    assert smtp_server.messages == []
    # not due yet a minute later; due after the back-off
    run(spike_settings, AT_SPIKE + timedelta(minutes=1), sleep=lambda s: None)
    assert smtp_server.messages == []
    run(spike_settings, AT_SPIKE + timedelta(hours=1), sleep=lambda s: None)
    assert len(smtp_server.messages) == 1
    assert history(spike_settings)[0][1] == "sent"


def test_permanent_failure_is_recorded_and_shown(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    from click.testing import CliRunner

    from tensionwatch.cli import cli

    smtp_server.data_replies = ["554 5.7.1 Message rejected"]
    assert run(spike_settings, AT_SPIKE, sleep=lambda s: None) == ["failed"]
    _, status, error = history(spike_settings)[0]
    assert status == "failed" and error is not None and "554" in error
    assert run(spike_settings, AT_SPIKE + timedelta(hours=2)) == []
    assert smtp_server.attempts == 1
    config = str(spike_settings.config_path)
    shown = CliRunner().invoke(cli, ["alerts", "history", "--config", config])
    assert shown.exit_code == 0, shown.output
    assert "failed" in shown.output and "554 5.7.1 Message rejected" in shown.output


def test_timeout_after_acceptance_is_never_resent(
    spike_settings: Settings, smtp_server: SmtpRecorder
) -> None:
    smtp_server.accept_delay = 1.0
    transport = SmtpTransport(spike_settings.smtp, timeout=0.3)
    assert run(spike_settings, AT_SPIKE, transport=transport) == ["unknown"]
    smtp_server.accept_delay = 0
    run(spike_settings, AT_SPIKE + timedelta(hours=1))
    assert len(smtp_server.messages) == 1
    assert history(spike_settings)[0][1] == "unknown"


THRESHOLD_RULE = """
[[alerts]]
name = "ma-dz-busy"
kind = "threshold"
dyad = "morocco-algeria"
count = 3
window = "2d"
cooldown = "1d"
"""


def test_cooldown_holds_back_the_same_series_until_it_ends(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, THRESHOLD_RULE)
    assert run(settings, AT_SPIKE) == ["outbox"]
    assert run(settings, AT_SPIKE + timedelta(hours=3)) == []  # still busy, cooling down
    assert run(settings, AT_SPIKE + timedelta(hours=25)) == ["outbox"]  # cooldown over
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 2
    assert b"ma-dz-busy" in outbox[0].read_bytes()


QUIET_RULES = """
[[alerts]]
name = "busy-quiet"
kind = "threshold"
dyad = "morocco-algeria"
count = 3
window = "2d"
to = ["night@example.org"]
quiet_hours = "22:00-07:00"
timezone = "UTC"

[[alerts]]
name = "spike-quiet"
kind = "spike"
dyad = "morocco-algeria"
to = ["night@example.org"]
quiet_hours = "22:00-07:00"
timezone = "UTC"
"""


def test_quiet_hours_hold_alerts_and_send_one_email_when_they_end(
    write_config: WriteConfig, tmp_path: Path, smtp_server: SmtpRecorder
) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, QUIET_RULES, smtp_server)
    night = datetime(2024, 5, 20, 23, 30, tzinfo=UTC)
    assert sorted(run(settings, night)) == ["held", "held"]
    assert run(settings, night + timedelta(hours=3)) == []
    assert smtp_server.messages == []
    run(settings, night + timedelta(hours=8))  # 07:30: quiet hours are over
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert "2 alerts held in quiet hours" in msg["Subject"]
    text, _, images = parts(msg)
    assert "busy-quiet" in text and "spike-quiet" in text
    assert len(images) == 1  # the spike's chart
    assert sorted(s for _, s, _ in history(settings)) == ["sent", "sent"]


FLATLINE_RULE = """
[[alerts]]
name = "silent"
kind = "flatline"
feed = "all"
period = "1d"
"""


def test_flatline_fires_once_per_silence(write_config: WriteConfig, tmp_path: Path) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, FLATLINE_RULE)
    # the sample's live feeds last brought an item on 2024-06-30 at noon (archive feeds
    # never count)
    last = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
    assert run(settings, last + timedelta(hours=20)) == []
    assert run(settings, last + timedelta(hours=25)) == ["outbox"]
    assert run(settings, last + timedelta(days=3)) == []  # the same silence
    eml = next((tmp_path / "outbox").glob("*.eml")).read_bytes()
    assert b"No new items from all live feeds" in eml


MATCH_RULE = """
[[alerts]]
name = "ruptures"
kind = "match"
dyad = "morocco-algeria"
categories = ["diplomatic_rupture"]
"""


def test_match_batches_new_items_and_ignores_what_was_stored_before(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, MATCH_RULE)
    now = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)
    assert run(settings, now) == []  # first look: only the watermark
    db = open_database(settings.database)
    feed_ids = {row[1]: row[0] for row in db.execute("SELECT id, url FROM feeds").fetchall()}
    new = [
        ItemSpec("Algeria recalls its ambassador from Rabat", "2024-07-01T08:00:00Z",
                 ("algeria", "morocco"), ("diplomatic_rupture",)),
        ItemSpec("Algeria closes airspace to Moroccan planes", "2024-07-01T08:30:00Z",
                 ("algeria", "morocco"), ("diplomatic_rupture",)),
        ItemSpec("Morocco and Israel sign an accord", "2024-07-01T08:40:00Z",
                 ("morocco", "israel"), ("normalisation_cooperation",)),
    ]  # fmt: skip
    with transaction(db):
        for spec in new:
            _insert_item(db, spec, feed_ids)
    db.conn.close()
    assert run(settings, now + timedelta(minutes=5)) == ["outbox"]
    assert run(settings, now + timedelta(minutes=10)) == []
    db = open_database(settings.database)
    alert = list_alert_history(db)[0]
    db.conn.close()
    assert len(alert.item_ids) == 2 and alert.observed == 2
    assert "(+1 more)" in alert.title


DIGEST_RULE = """
[[alerts]]
name = "morning"
kind = "digest"
every = "daily"
at = "08:00"
timezone = "Africa/Casablanca"
"""


def test_digest_goes_out_once_at_its_local_time(write_config: WriteConfig, tmp_path: Path) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, THRESHOLD_RULE + DIGEST_RULE)
    run(settings, AT_SPIKE)  # the threshold alert of the day before the digest
    morning = datetime(2024, 5, 21, 7, 5, tzinfo=UTC)  # 08:05 in Casablanca (UTC+1)
    statuses = run(settings, morning)
    assert statuses == ["outbox"]
    assert run(settings, morning + timedelta(minutes=30)) == []
    db = open_database(settings.database)
    digest = next(a for a in list_alert_history(db) if a.kind == "digest")
    db.conn.close()
    assert digest.episode == "2024-05-21"
    why = "\n".join(digest.detail["why"])
    assert "Morocco–Algeria: index" in why
    assert "1 alerts in the period" in why and "ma-dz-busy" not in why  # subjects, not names


def test_collector_job_evaluates_on_its_own_connection_and_never_raises(
    write_config: WriteConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from collections.abc import Iterator
    from contextlib import contextmanager

    from alerts.schedule import make_alert_job
    from storage.alert_store import claim_message
    from storage.db import open_database as open_db

    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, THRESHOLD_RULE)

    @contextmanager
    def connect() -> Iterator[object]:
        db = open_db(settings.database)
        try:
            yield db
        finally:
            db.conn.close()

    job = make_alert_job(connect, settings, lambda: AT_SPIKE)  # type: ignore[arg-type]
    job()
    job()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    db = open_db(settings.database)
    message_id = list_alert_history(db)[0].message_id
    assert message_id is not None
    assert not claim_message(db, message_id, AT_SPIKE)  # an outbox message is never sent
    db.conn.close()

    (tmp_path / "tw.db").write_bytes(b"not a database")
    job()  # a broken database is logged, not raised
    assert "alert evaluation failed" in caplog.text


STORY_RULE = """
[[alerts]]
name = "ma-dz-stories"
kind = "spike"
dyad = "morocco-algeria"
unit = "story"
normalised = true
"""


def test_spike_on_normalised_stories_reads_fresh_aggregates(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, STORY_RULE)
    assert run(settings, AT_SPIKE) == ["outbox"]  # aggregates refreshed by the evaluation
    db = open_database(settings.database)
    alert = list_alert_history(db)[0]
    db.conn.close()
    assert alert.episode == SPIKE_DAY.isoformat() and alert.series == "dyad:morocco-algeria"
    assert alert.observed is not None and alert.observed > 0


def test_a_feed_title_in_the_subject_cannot_inject_a_header(
    write_config: WriteConfig, tmp_path: Path, smtp_server: SmtpRecorder
) -> None:
    """A match rule puts the first item's title in the subject: its CR/LF stays text."""
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    rule = MATCH_RULE + 'to = ["analyst@example.org"]\n'
    settings = make_settings(write_config, tmp_path, rule, smtp_server)
    now = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)
    assert run(settings, now) == []  # the watermark
    db = open_database(settings.database)
    feed_ids = {row[1]: row[0] for row in db.execute("SELECT id, url FROM feeds").fetchall()}
    evil = ItemSpec(
        "Algeria recalls envoy\r\nBcc: spy@example.org\r\n\r\n<b>body</b>",
        "2024-07-01T08:00:00Z",
        ("algeria", "morocco"),
        ("diplomatic_rupture",),
        url="https://news.example/evil?a=1&b=<2>",
    )
    with transaction(db):
        _insert_item(db, evil, feed_ids)
    db.conn.close()
    assert run(settings, now + timedelta(minutes=5)) == ["sent"]
    assert smtp_server.envelopes == [("tensionwatch@localhost", ["analyst@example.org"])]
    msg = smtp_server.messages[0]
    assert msg["Subject"] == (
        "[tensionwatch] Morocco–Algeria diplomatic rupture: "
        "Algeria recalls envoy Bcc: spy@example.org <b>body</b>"
    )
    assert msg["Bcc"] is None and all(name.lower() != "bcc" for name in msg)
    text, body, _ = parts(msg)
    title = "Algeria recalls envoy Bcc: spy@example.org <b>body</b>"
    assert f"rupture: {title}" in text and f"- {title}" in text, text
    assert "<b>body</b>" not in body and "&lt;b&gt;body&lt;/b&gt;" in body
    assert 'href="https://news.example/evil?a=1&amp;b=&lt;2&gt;"' in body


def test_a_digest_missed_by_more_than_an_hour_waits_for_the_next(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, DIGEST_RULE)
    afternoon = datetime(2024, 5, 21, 14, 0, tzinfo=UTC)  # 15:00 in Casablanca
    assert run(settings, afternoon) == []  # started long after 08:00: no stale digest
    next_morning = datetime(2024, 5, 22, 7, 50, tzinfo=UTC)  # 08:50 local: late, in time
    assert run(settings, next_morning) == ["outbox"]
    assert run(settings, next_morning + timedelta(hours=2)) == []


def test_backtest_lists_count_rules_as_matching_items(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tensionwatch.cli import cli

    build_database(tmp_path / "tw.db", sample_items(), sample_feeds())
    settings = make_settings(write_config, tmp_path, THRESHOLD_RULE)
    shown = CliRunner().invoke(
        cli,
        ["alerts", "backtest", "ma-dz-busy", "--from", "2024-05-01", "--to", "2024-05-31",
         "--config", str(settings.config_path)],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("2024-05-2") and lines[0].endswith("matching items (fires at 3)")
    assert lines[-1].startswith("ma-dz-busy: ") and lines[-1].endswith("2024-05-01 to 2024-05-31")
