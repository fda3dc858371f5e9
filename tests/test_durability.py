"""Nothing lost: a collector killed mid-pass, readers during writes, a full or read-only disk.

- A real ``tensionwatch collect --once`` process is SIGKILLed in the middle
  of a pass over loopback feeds and started again: every item committed
  before the kill is still there with its tags, none is stored twice, and
  the end result is the same as an uninterrupted pass's.
- Dashboard-style reads (read-only connections, the dashboard's queries)
  run in a loop while a collector writes: never "database is locked".
- A disk that fills up (a tiny tmpfs) or a database on a filesystem that
  turns read-only: a clear error on the feed's outcome, nothing
  half-written, and the next pass after space comes back stores everything.
  Mounting needs privileges; without them these two tests are skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from model import StorageError
from storage.db import open_database, open_database_readonly
from storage.queries import (
    ItemFilter,
    list_feed_health,
    list_items,
    list_tag_counts,
    summarise_items,
)
from tensionwatch.config import load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import rss

EXE = str(Path(sys.executable).parent / "tensionwatch")
SUBJECTS = (
    "Morocco and Algeria exchange accusations over the border",
    "Polisario fighters report shelling near the berm",
    "Israel and Morocco sign a defence cooperation memorandum",
    "Rains bring relief to farmers in the Souss valley",
    "Algeria recalls its ambassador for consultations",
)


def feed_rows(feed: int, count: int) -> list[tuple[str, str, str, str]]:
    return [
        (
            f"{SUBJECTS[(feed + i) % len(SUBJECTS)]} (report {feed}-{i})",
            f"Correspondents in Rabat and Algiers describe event {i} of feed {feed}.",
            f"https://durable.example/{feed}/{i}",
            f"Mon, 02 Jun 2025 {i % 24:02d}:{feed % 60:02d}:00 GMT",
        )
        for i in range(count)
    ]


def config_text(urls: list[str], database: str = "tw.db", **collector: object) -> str:
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls)
    options = {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5, **collector}
    section = "".join(f"{k} = {v!r}\n" for k, v in options.items())
    return (
        f'database = "{database}"\narchive = false\nallow_private_networks = true\n'
        f"[collector]\n{section}{feeds}"
    )


def snapshot(path: Path) -> dict[str, tuple[str, ...]]:
    """Every stored item id with its tags, read like the dashboard reads."""
    db = open_database_readonly(path)
    try:
        tags: dict[str, list[str]] = {}
        for row in db.execute("SELECT item_id, kind || ':' || tag FROM item_tags"):
            tags.setdefault(row[0], []).append(row[1])
        return {
            row[0]: tuple(sorted(tags.get(row[0], [])))
            for row in db.execute("SELECT id FROM items")
        }
    finally:
        db.conn.close()


def count_items(path: Path) -> int:
    try:
        db = open_database_readonly(path)
    except StorageError:  # not there, or not migrated, yet
        return 0
    try:
        return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
    finally:
        db.conn.close()


def test_sigkill_mid_pass_loses_nothing_and_stores_nothing_twice(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    feeds, per_feed = 30, 20
    urls = [
        # later feeds answer more slowly (the last after 1.45 s, past the collector's
        # STORE_SECONDS between commits), so the pass is still running when it is killed
        feed_server.route(f"/f{n}", body=rss(feed_rows(n, per_feed)), delay=0.05 * n)
        for n in range(feeds)
    ]
    config = write_config(config_text(urls))
    database = tmp_path / "tw.db"
    with (tmp_path / "collect.log").open("wb") as log:
        process = subprocess.Popen(
            [EXE, "collect", "--once", "--config", str(config)], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while count_items(database) < 3 * per_feed:
            assert process.poll() is None, "the collector finished before it could be killed"
            assert time.monotonic() < deadline, "the collector stored nothing in 30 s"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    before = snapshot(database)
    assert 0 < len(before) < feeds * per_feed, "killed mid-pass"

    rerun = subprocess.run(
        [EXE, "collect", "--once", "--config", str(config)], capture_output=True, timeout=60
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    after = snapshot(database)

    reference_config = write_config(config_text(urls, database="ref.db"), name="ref.toml")
    settings = load_settings(reference_config, env={})
    service = CollectorService(settings)
    try:
        service.collect_once()
    finally:
        service.close()
    reference = snapshot(tmp_path / "ref.db")

    assert {k: after[k] for k in before} == before, "an item committed before the kill changed"
    assert after == reference and len(after) == feeds * per_feed
    db = open_database(database)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sources = db.execute("SELECT count(*) FROM item_sources").fetchone()[0]
        assert sources == feeds * per_feed
    finally:
        db.conn.close()


def test_dashboard_reads_never_see_a_locked_database(
    feed_server: FeedServer, write_config: WriteConfig, tmp_path: Path
) -> None:
    urls = [feed_server.route(f"/f{n}", body=rss(feed_rows(n, 40))) for n in range(25)]
    settings = load_settings(write_config(config_text(urls)), env={})
    service = CollectorService(settings)
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            service.collect_once()
            for n in range(25):  # a second round of new bodies: more writes
                feed_server.route(f"/f{n}", body=rss(feed_rows(n + 100, 40)))
            service.collect_once()
        except BaseException as e:
            errors.append(e)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    try:
        while not done.is_set() or reads < 5:
            db = open_database_readonly(settings.database)
            try:
                summarise_items(db)
                list_tag_counts(db, "actor")
                list_items(db, ItemFilter(search="Morocco", limit=50))
                list_items(db, ItemFilter(limit=200))
                list_feed_health(db, datetime.now(UTC))
            finally:
                db.conn.close()
            reads += 1
    finally:
        writer.join(timeout=60)
        service.close()
    assert not errors, errors
    assert reads >= 5
    assert count_items(settings.database) == 25 * 40 * 2


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards; skips when mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Fill the filesystem holding ``path`` to the last byte."""
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def pass_with(service: CollectorService, clock: Any) -> dict[str, Any]:
    return {o.url: o for o in service.collect_once()}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def test_disk_full_is_a_clear_error_and_retried(
    feed_server: FeedServer, write_config: WriteConfig, tiny_disk: Path
) -> None:
    small = feed_server.route("/small", body=rss(feed_rows(1, 3)))
    big = feed_server.route("/big", body=rss(feed_rows(2, 5)))
    database = tiny_disk / "tw.db"
    settings = load_settings(write_config(config_text([small, big], str(database))), env={})
    clock = Clock()
    service = CollectorService(settings, clock=clock)
    try:
        assert {o.status for o in service.collect_once()} == {"ok"}
        stored = snapshot(database)
        # the next bodies hold many long items; then no byte is left on the disk
        feed_server.route("/small", body=rss(feed_rows(3, 400)))
        feed_server.route("/big", body=rss(feed_rows(4, 400)))
        filler = tiny_disk / "filler"
        fill(filler)
        clock.now += timedelta(hours=1)
        outcomes = service.collect_once()
        assert [o.status for o in outcomes] == ["error", "error"]
        for outcome in outcomes:
            assert "could not write" in (outcome.error or "") and "full" in (outcome.error or "")
        filler.unlink()
        assert snapshot(database) == stored, "a failed pass left something half-written"
        clock.now += timedelta(hours=1)
        assert [o.status for o in service.collect_once()] == ["ok", "ok"]
    finally:
        service.close()
    assert len(snapshot(database)) == 3 + 5 + 800


def test_read_only_filesystem_is_a_clear_error_and_retried(
    feed_server: FeedServer, write_config: WriteConfig, tiny_disk: Path
) -> None:
    url = feed_server.route("/feed", body=rss(feed_rows(1, 3)))
    database = tiny_disk / "tw.db"
    settings = load_settings(write_config(config_text([url], str(database))), env={})
    clock = Clock()
    service = CollectorService(settings, clock=clock)
    try:
        assert service.poll_feed(settings.enabled_feeds[0]).status == "ok"
        feed_server.route("/feed", body=rss(feed_rows(2, 3)))
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
        clock.now += timedelta(hours=1)
        outcome = service.poll_feed(settings.enabled_feeds[0])
        assert outcome.status == "error" and "tw.db" in (outcome.error or "")
        assert "read" in (outcome.error or "").lower()
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=True)
        clock.now += timedelta(hours=1)
        assert service.poll_feed(settings.enabled_feeds[0]).status == "ok"
    finally:
        service.close()
    assert len(snapshot(database)) == 6
