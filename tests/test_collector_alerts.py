"""The collector evaluates alerts after its passes: real processes, real feeds, real SMTP.

A loopback feed server carries reports published an hour ago; the installed
``tensionwatch`` entry point (or ``CollectorService`` in this process, for
the scheduled mode) collects them; a match rule's email arrives at an
aiosmtpd server on 127.0.0.1, or in the outbox folder without SMTP. Each
``collect --once`` is a new process, so running it again is a restart of
the collector between evaluations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tensionwatch.config import load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import HARVEST, Row, rss

if TYPE_CHECKING:
    from tests.smtpserver import SmtpRecorder

pytest_plugins = ["tests.smtpserver"]  # the smtp_server fixture

EXE = str(Path(sys.executable).parent / "tensionwatch")
ANALYST = "analyst@example.org"
RUPTURE_RULE = f"""
[[alerts]]
name = "ma-dz-rupture"
kind = "match"
dyad = "morocco-algeria"
categories = ["diplomatic_rupture"]
to = ["{ANALYST}"]
"""
EVIL_TITLE = "Morocco recalls its ambassador from Algiers\r\nBcc: evil@example.org"


def recent(title: str, summary: str, slug: str, hours_ago: float) -> Row:
    """A report published ``hours_ago`` before now (match rules ignore old news)."""
    when = datetime.now(UTC) - timedelta(hours=hours_ago)
    return (title, summary, f"https://news.example/{slug}", format_datetime(when, usegmt=True))


TIES = recent(
    "Algeria severs diplomatic ties with Morocco",
    "Algiers accused Rabat of hostile acts and cut relations.",
    "ties",
    2,
)
EVIL = recent(EVIL_TITLE, "Rabat recalled its envoy to Algeria for consultations.", "envoy", 1)
AIRSPACE = recent(
    "Algeria closes its airspace to all Moroccan aircraft",
    "Algiers banned Moroccan civil and military planes after cutting ties with Rabat.",
    "airspace",
    0.5,
)


def write_setup(write_config: WriteConfig, tmp_path: Path, feed_url: str, extra: str = "") -> Path:
    return write_config(
        f'database = "{tmp_path / "tw.db"}"\narchive = false\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{feed_url}"\nname = "Loopback news"\n{extra}{RUPTURE_RULE}'
    )


def smtp_env(smtp: SmtpRecorder) -> dict[str, str]:
    return dict(
        os.environ,
        TENSIONWATCH_SMTP_HOST=smtp.host,
        TENSIONWATCH_SMTP_PORT=str(smtp.port),
        TENSIONWATCH_SMTP_SECURITY="none",
        TENSIONWATCH_MAIL_FROM="tensionwatch@example.org",
    )


def tensionwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point, as a user runs it (a new process each time)."""
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    content: str = part.get_content()
    return content


def header_block(msg: EmailMessage) -> str:
    return msg.as_string().split("\n\n", 1)[0]


def test_collect_once_emails_new_matches_once_across_restarts(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tmp_path: Path,
    smtp_server: SmtpRecorder,
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES, EVIL, HARVEST]))
    config = str(write_setup(write_config, tmp_path, feed))
    env = smtp_env(smtp_server)

    first = tensionwatch("collect", "--once", "--config", config, env=env)
    assert first.returncode == 0, first.stderr
    assert "Loopback news" in first.stdout and "3 new" in first.stdout, first.stdout
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert smtp_server.envelopes[0] == ("tensionwatch@example.org", [ANALYST])
    assert msg["Subject"].startswith("[tensionwatch] Morocco–Algeria diplomatic rupture: ")
    assert msg["Subject"].endswith("(+1 more)")
    # the CR/LF of a feed's title never reaches a header
    assert msg["Bcc"] is None and "\nBcc:" not in header_block(msg)
    assert all(name.lower() != "bcc" for name in msg)
    text = text_of(msg)
    assert "Algeria severs diplomatic ties with Morocco" in text
    assert "Morocco recalls its ambassador from Algiers" in text
    assert "https://news.example/ties" in text and "Wheat harvest" not in text

    # a restart of the collector with nothing new: nothing sent again
    again = tensionwatch("collect", "--once", "--config", config, env=env)
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 1

    # the next report is news, alone in its own email
    feed_server.route("/news.xml", body=rss([AIRSPACE, TIES, EVIL, HARVEST]))
    third = tensionwatch("collect", "--once", "--config", config, env=env)
    assert third.returncode == 0, third.stderr
    assert len(smtp_server.messages) == 2
    latest = smtp_server.messages[1]
    assert latest["Subject"] == (
        "[tensionwatch] Morocco–Algeria diplomatic rupture: "
        "Algeria closes its airspace to all Moroccan aircraft"
    )
    assert "Algeria severs" not in text_of(latest)

    shown = tensionwatch("alerts", "history", "--json", "--config", config)
    assert shown.returncode == 0, shown.stderr
    history = json.loads(shown.stdout)
    assert [(a["rule"], a["delivery_status"]) for a in history] == [
        ("ma-dz-rupture", "sent"),
        ("ma-dz-rupture", "sent"),
    ]
    assert len(history[1]["items"]) == 2 and len(history[0]["items"]) == 1


def test_without_smtp_the_email_is_written_to_the_outbox(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES, HARVEST]))
    config = str(write_setup(write_config, tmp_path, feed))
    done = tensionwatch("collect", "--once", "--config", config)
    assert done.returncode == 0, done.stderr
    outbox = list((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    raw = outbox[0].read_bytes()
    assert b"Algeria severs diplomatic ties with Morocco" in raw
    assert tensionwatch("collect", "--once", "--config", config).returncode == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_alert_trouble_never_breaks_collection(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES, HARVEST]))
    config = str(write_setup(write_config, tmp_path, feed))
    (tmp_path / "outbox").write_text("a file where the outbox folder should be")
    done = tensionwatch("collect", "--once", "--config", config)
    assert done.returncode == 0, done.stderr
    assert "2 new" in done.stdout, done.stdout
    assert "cannot write the alert email" in done.stderr
    db = sqlite3.connect(tmp_path / "tw.db")
    try:
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 2
    finally:
        db.close()
    shown = tensionwatch("alerts", "history", "--config", config)
    assert "failed" in shown.stdout and "cannot write the alert email" in shown.stdout


@pytest.mark.parametrize("command", [["collect"], ["collect", "--once"], ["up"]])
def test_an_invalid_alert_rule_stops_start_up(
    command: list[str], feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES]))
    config = write_setup(
        write_config,
        tmp_path,
        feed,
        '[[alerts]]\nname = "ma-dz-spike"\nkind = "spike"\ndyad = "morocco-algeria"\n'
        "min_items = 0\n",
    )
    done = tensionwatch(*command, "--config", str(config))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"tensionwatch: error: {config}: alerts[0] (ma-dz-spike): min_items = 0: "
        "expected a whole number from 1 to 10000"
    )
    assert feed_server.requests_to("/news.xml") == []


DIGEST_RULE = """
[[alerts]]
name = "morning"
kind = "digest"
at = "08:00"
timezone = "Africa/Casablanca"
"""


def test_scheduler_has_the_feeds_the_minute_evaluation_and_each_digest(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES]))
    settings = load_settings(write_setup(write_config, tmp_path, feed, DIGEST_RULE))
    service = CollectorService(settings)
    try:
        scheduler = service.build_scheduler()
        scheduler.start(paused=True)
        try:
            ids = sorted(job.id for job in scheduler.get_jobs())
        finally:
            scheduler.shutdown(wait=False)
    finally:
        service.close()
    assert ids == ["alerts:digest:morning", "alerts:evaluate", f"feed:{feed}"]


def wait_until(check: Callable[[], bool], seconds: float = 90) -> None:
    """Wait for ``check()`` to be true, up to a generous limit (never asserts a duration)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the collector never got there"
        time.sleep(0.1)


def test_scheduled_collector_refreshes_aggregates_and_emails_after_its_poll(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tmp_path: Path,
    smtp_server: SmtpRecorder,
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES, HARVEST]))
    config = write_setup(
        write_config,
        tmp_path,
        feed,
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n',
    )
    service = CollectorService(load_settings(config))
    stop = threading.Event()
    runner = threading.Thread(target=service.run_scheduled, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_until(lambda: len(smtp_server.messages) >= 1)
    finally:
        stop.set()
        runner.join(timeout=30)
        service.close()
    assert len(smtp_server.messages) == 1
    assert "Algeria severs diplomatic ties" in smtp_server.messages[0]["Subject"]
    db = sqlite3.connect(tmp_path / "tw.db")
    try:
        assert db.execute("SELECT count(*) FROM agg_dirty").fetchone()[0] == 0
        assert db.execute("SELECT refreshed FROM agg_state").fetchone()[0] is not None
        rows = db.execute(
            "SELECT items FROM agg_daily WHERE unit = 'item' AND kind = 'dyad' "
            "AND key = 'algeria-morocco'"
        ).fetchall()
        assert rows and sum(r[0] for r in rows) == 1
    finally:
        db.close()


def test_a_collector_killed_while_the_server_accepts_never_sends_twice(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tmp_path: Path,
    smtp_server: SmtpRecorder,
) -> None:
    """SIGKILL after the server stored the email and before its reply; the restarted
    collector finds the message ``sending``: it may have arrived, so it is never resent."""
    feed = feed_server.route("/news.xml", body=rss([TIES, HARVEST]))
    config = str(write_setup(write_config, tmp_path, feed))
    smtp_server.accept_delay = 20.0
    process = subprocess.Popen(
        [EXE, "collect", "--once", "--config", config],
        env=smtp_env(smtp_server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(smtp_server.messages) == 1 or process.poll() is not None)
        assert process.poll() is None, "the collector ended before the server had the email"
    finally:
        process.kill()
        process.wait()
    smtp_server.accept_delay = 0
    again = tensionwatch("collect", "--once", "--config", config, env=smtp_env(smtp_server))
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 1
    shown = tensionwatch("alerts", "history", "--config", config)
    assert "unknown" in shown.stdout and "interrupted during delivery" in shown.stdout


def test_requests_made_during_an_evaluation_collapse_into_one_more() -> None:
    from alerts.schedule import Coalesced

    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def work() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            started.set()
            release.wait(timeout=60)

    evaluate = Coalesced(work)
    first = threading.Thread(target=evaluate)
    first.start()
    assert started.wait(timeout=60)
    evaluate()  # a poll ends while the first evaluation runs: returns at once
    evaluate()  # and another: the same one more run
    assert runs == [0]
    release.set()
    first.join(timeout=60)
    assert runs == [0, 1]  # the first caller went round once more, for both
    evaluate()
    assert runs == [0, 1, 2]


def test_a_bug_in_alerts_is_logged_and_the_pass_still_returns(
    feed_server: FeedServer,
    write_config: WriteConfig,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = feed_server.route("/news.xml", body=rss([TIES, HARVEST]))
    service = CollectorService(load_settings(write_setup(write_config, tmp_path, feed)))

    def broken() -> None:
        raise RuntimeError("a bug in the alerts")

    service._evaluate_alerts = broken
    try:
        outcomes = service.collect_once()
    finally:
        service.close()
    assert [(o.status, o.new) for o in outcomes] == [("ok", 2)]
    assert "alert evaluation failed" in caplog.text and "a bug in the alerts" in caplog.text
