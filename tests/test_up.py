"""``tensionwatch up`` as a user runs it: archive collected, dashboard served, the alert of
a fresh report emailed to a real SMTP server, SIGTERM stops all."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import TIES_CUT, rss

if TYPE_CHECKING:
    from tests.smtpserver import SmtpRecorder

pytest_plugins = ["tests.smtpserver"]  # the smtp_server fixture

EXE = str(Path(sys.executable).parent / "tensionwatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "tensionwatch up exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_up_serves_the_archive_emails_an_alert_and_stops_on_sigterm(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path, smtp_server: SmtpRecorder
) -> None:
    fresh = (
        "Morocco recalls its ambassador from Algiers",
        "Rabat recalled its envoy to Algeria for consultations.",
        "https://news.example/envoy",
        format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True),
    )
    live = feed_server.route("/live", body=rss([TIES_CUT, fresh]))
    port = free_port()
    config = write_config(
        f'database = "tw.db"\nallow_private_networks = true\n[dashboard]\nport = {port}\n'
        f'[[feeds]]\nurl = "{live}"\nname = "Live"\n'
        '[[alerts]]\nname = "ruptures"\nkind = "match"\ndyad = "morocco-algeria"\n'
        'categories = ["diplomatic_rupture"]\nto = ["analyst@example.org"]\n'
    )
    env = dict(
        os.environ,
        TENSIONWATCH_SMTP_HOST=smtp_server.host,
        TENSIONWATCH_SMTP_PORT=str(smtp_server.port),
        TENSIONWATCH_SMTP_SECURITY="none",
    )
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [EXE, "up", "--config", str(config)], stdout=log, stderr=log, env=env
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", process, 90)
        db = sqlite3.connect(tmp_path / "tw.db")
        archive = db.execute("SELECT count(*) FROM items WHERE archive = 1").fetchone()[0]
        assert archive >= 400
        deadline = time.monotonic() + 30
        while not db.execute("SELECT count(*) FROM items WHERE archive = 0").fetchone()[0]:
            assert time.monotonic() < deadline, "the scheduled collector never polled"
            time.sleep(0.5)
        # the poll's new items were followed by an evaluation: the fresh report's alert
        # arrives (the 2021 one is old news, and so is the archive)
        deadline = time.monotonic() + 60
        while not smtp_server.messages:
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.5)
        subject = smtp_server.messages[0]["Subject"]
        assert subject == (
            "[tensionwatch] Morocco–Algeria diplomatic rupture: "
            "Morocco recalls its ambassador from Algiers"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, (tmp_path / "up.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the dashboard is still listening"
    assert len(smtp_server.messages) == 1
