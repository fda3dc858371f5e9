"""``tensionwatch db backup FILE``: a consistent, openable copy while a writer writes.

The installed entry point runs as a real subprocess against a real SQLite
file in WAL mode, while a thread of this test keeps committing batches of
items the way the collector does (``write_transaction`` + ``store_items``).
Every batch holds ``BATCH`` items, so a copy taken in the middle of a
transaction would show a batch with fewer: a consistent copy holds only
whole batches, all of them among what the writer committed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from model import FeedSpec, NormalisedItem, StorageError, TaggedItem, Tagging
from storage.backup import backup_database
from storage.db import open_database, open_database_readonly
from storage.feeds import feed_state, sync_feeds
from storage.items import (
    BULK_CACHE_KIB,
    BULK_CHECKPOINT_PAGES,
    bulk_writes,
    store_items,
    write_transaction,
)
from storage.records import item_records
from tests.conftest import WriteConfig

EXE = str(Path(sys.executable).parent / "tensionwatch")
FEED = "https://backup.example/feed.xml"
BATCH = 25
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
FILLER = "Correspondents in Rabat and Algiers describe the day's events at length. " * 12


def batch(number: int) -> list[TaggedItem]:
    tagging = Tagging(actors=("morocco",), categories=(), matches=(), rules_version="test")
    return [
        TaggedItem(
            NormalisedItem(
                id=f"b{number:05d}-{i:02d}",
                feed_url=FEED,
                url=f"https://backup.example/{number}/{i}",
                guid=None,
                title=f"batch {number} item {i}",
                summary=FILLER,
                published=NOW - timedelta(minutes=number),
                fetched=NOW,
                lang="en",
            ),
            tagging,
        )
        for i in range(BATCH)
    ]


class Writer(threading.Thread):
    """Commits one batch per transaction until stopped; counts what it committed."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        db = open_database(self.path)
        try:
            state = feed_state(db, FEED)
            assert state is not None
            while not self.stop.is_set():
                with write_transaction(db):
                    store_items(
                        db, state.id, item_records(batch(self.committed)), archive=False, now=NOW
                    )
                self.committed += 1
        except BaseException as e:  # surfaced by the test, never swallowed
            self.error = e
        finally:
            db.conn.close()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "tw.db"
    db = open_database(path)
    sync_feeds(db, [FeedSpec(FEED)], NOW)
    db.conn.close()
    return path


@pytest.fixture
def writer(database: Path) -> Iterator[Writer]:
    thread = Writer(database)
    thread.start()
    yield thread
    thread.stop.set()
    thread.join(timeout=30)


def run_backup(config: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "--config", str(config), "db", "backup", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_for_batches(writer: Writer, count: int) -> None:
    deadline = threading.Event()
    while writer.committed < count and writer.error is None and writer.is_alive():
        deadline.wait(0.01)
    assert writer.error is None, writer.error


def test_backup_while_a_writer_commits_is_a_consistent_openable_copy(
    database: Path, writer: Writer, write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config(f'database = "{database}"\narchive = false\n')
    wait_for_batches(writer, 40)  # a database of a few hundred pages, still growing
    before = writer.committed
    copies = [tmp_path / f"copy-{n}.db" for n in range(3)]
    for copy in copies:
        done = run_backup(config, copy)
        assert done.returncode == 0, done.stderr
        assert f"backed up to {copy}" in done.stdout
    after = writer.committed
    wait_for_batches(writer, after + 2)
    assert writer.is_alive() and after > before, "the writer went on writing during the backups"
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None, writer.error

    for copy in copies:
        conn = sqlite3.connect(copy)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            sizes = conn.execute(
                "SELECT substr(id, 1, 6), count(*) FROM items GROUP BY 1"
            ).fetchall()
            tags = conn.execute("SELECT count(*) FROM item_tags").fetchone()[0]
            fts = conn.execute(
                "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'Correspondents'"
            ).fetchone()[0]
        finally:
            conn.close()
        batches = len(sizes)
        assert {size for _, size in sizes} == {BATCH}, "a batch was copied half-written"
        assert before <= batches <= writer.committed
        assert {b for b, _ in sizes} == {f"b{n:05d}" for n in range(batches)}
        assert tags == fts == batches * BATCH
        readonly = open_database_readonly(copy)  # the schema version is this tensionwatch's
        readonly.conn.close()
    assert not list(tmp_path.glob(".*.partial"))


def test_backup_to_a_missing_folder_names_the_path_and_the_problem(
    database: Path, write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config(f'database = "{database}"\n')
    target = tmp_path / "no-such-folder" / "copy.db"
    done = run_backup(config, target)
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line.count("\n") == 0, "one clean line"
    assert str(target) in line
    assert f"the folder {target.parent} does not exist" in line
    assert not target.parent.exists()


def test_backup_refuses_to_overwrite_and_other_bad_targets(database: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(StorageError, match="already exists"):
        backup_database(database, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(StorageError, match="is a folder"):
        backup_database(database, tmp_path)
    with pytest.raises(StorageError, match="is not a folder"):
        backup_database(database, existing / "copy.db")
    with pytest.raises(StorageError, match="no database to back up"):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_failed_backup_leaves_no_file_under_the_target_name(
    database: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not an SQLite database" * 200)
    target = tmp_path / "copy.db"
    with pytest.raises(StorageError, match="backup failed") as info:
        backup_database(corrupt, target)
    assert info.value.path == str(target)
    assert not target.exists()
    assert not list(tmp_path.glob(".*.partial"))


def test_bulk_writes_tunes_the_connection_only_while_a_pass_writes(tmp_path: Path) -> None:
    db = open_database(tmp_path / "tw.db")
    sync_feeds(db, [FeedSpec(url=FEED)], NOW)
    state = feed_state(db, FEED)
    assert state is not None

    def pragmas() -> list[int]:
        names = ("cache_size", "wal_autocheckpoint", "temp_store")
        return [int(db.conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in names]

    before = pragmas()
    with bulk_writes(db):
        assert pragmas() == [-BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES, 2]  # 2: MEMORY
        for number in range(3):
            with write_transaction(db):
                store_items(db, state.id, item_records(batch(number)), archive=False, now=NOW)
    assert pragmas() == before
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 3 * BATCH
