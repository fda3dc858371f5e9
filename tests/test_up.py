"""``tensionwatch up`` as a user runs it: archive collected, dashboard served, SIGTERM stops all."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import TIES_CUT, rss

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


def test_up_serves_the_archive_and_stops_on_sigterm(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    live = feed_server.route("/live", body=rss([TIES_CUT]))
    port = free_port()
    config = write_config(
        f'database = "tw.db"\nallow_private_networks = true\n[dashboard]\nport = {port}\n'
        f'[[feeds]]\nurl = "{live}"\nname = "Live"\n'
    )
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen([EXE, "up", "--config", str(config)], stdout=log, stderr=log)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", process, 90)
        db = sqlite3.connect(tmp_path / "tw.db")
        archive = db.execute("SELECT count(*) FROM items WHERE archive = 1").fetchone()[0]
        assert archive >= 400
        deadline = time.monotonic() + 30
        while not db.execute("SELECT count(*) FROM items WHERE archive = 0").fetchone()[0]:
            assert time.monotonic() < deadline, "the scheduled collector never polled"
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, (tmp_path / "up.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the dashboard is still listening"
