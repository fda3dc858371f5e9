"""Item rows: storing tagged items (idempotently), their tags, and reading them back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from model import StorageError, Tagging
from storage.db import to_iso, transaction
from storage.records import Evidence, ItemRecord, Label, tag_rows

if TYPE_CHECKING:
    import sqlite_utils

ID_BATCH = 500  # ids per IN (...) look-up, under SQLite's parameter limit
BULK_CACHE_KIB = 64 * 1024
BULK_CHECKPOINT_PAGES = 10_000  # about 40 MB of WAL between checkpoints (default 1,000)
MAX_PARAMETERS = 999  # per statement: SQLite's limit before 3.32, far below today's


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """``storage.db.transaction`` for the collector's writes: all or nothing, and a
    failure of the database itself (disk full, read-only file or filesystem, I/O
    error, still locked after the busy timeout) is rolled back, even when it
    happens at COMMIT, and raised as ``StorageError`` naming the file."""
    try:
        with transaction(db):
            yield
    except sqlite3.OperationalError as e:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise StorageError(_path_of(db), f"could not write ({e}); nothing was stored") from e


@contextmanager
def bulk_writes(db: sqlite_utils.Database) -> Iterator[None]:
    """A larger page cache, rarer WAL checkpoints and statement journals kept in memory
    on this connection while a whole pass writes, all restored after.

    Inserting thousands of items with random ids touches index pages all over the
    file: with SQLite's default 2 MiB cache they are read again and again
    (measured on 50,000 bench items: inserts 4.95 s → 3.71 s, commits 1.17 s →
    0.56 s). Each multi-row insert inside a larger transaction keeps the pages it
    changes in a statement journal (to undo that statement alone), a temporary
    file once it outgrows 64 KiB: 1.5 GB written to /var/tmp for those 50,000
    items, 1.0 s of system time; in memory, a memory copy instead (0.4 s).
    """
    conn = db.conn
    tuned = {
        "cache_size": -BULK_CACHE_KIB,
        "wal_autocheckpoint": BULK_CHECKPOINT_PAGES,
        "temp_store": 2,  # MEMORY
    }
    try:
        before = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in tuned}
        for name, value in tuned.items():
            conn.execute(f"PRAGMA {name} = {value}")
    except sqlite3.Error:  # a tuning only: the pass goes on with the defaults
        yield
        return
    try:
        yield
    finally:
        with suppress(sqlite3.Error):
            for name, value in before.items():
                conn.execute(f"PRAGMA {name} = {value}")


def _path_of(db: sqlite_utils.Database) -> str:
    try:
        row = db.conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return "database"
    return str(row[2]) if row and row[2] else "database"


def record_rules_version(
    db: sqlite_utils.Database,
    version: str,
    path: str,
    rule_count: int,
    source: str,
    now: datetime,
) -> None:
    db.execute(
        """INSERT OR IGNORE INTO rules_versions (version, path, first_applied, rule_count, source)
           VALUES (?, ?, ?, ?, ?)""",
        [version, path, to_iso(now), rule_count, source],
    )


class FeedItems(NamedTuple):
    """One feed's items to store, as one poll brought them."""

    feed_id: int
    records: Sequence[ItemRecord]
    archive: bool
    now: datetime  # when the poll started: the items' ``first_seen``, a revision's time


def store_items(
    db: sqlite_utils.Database,
    feed_id: int,
    records: Sequence[ItemRecord],
    *,
    archive: bool,
    now: datetime,
) -> tuple[int, int]:
    """Store items not seen before with their tags; return (new, already seen).

    An item already stored (same id) is only added to this feed's sources,
    unless this feed is the one that first stored it and its title, summary
    or link changed: then the stored row becomes the new version, the old
    one goes to ``item_revisions``, and the item is tagged again (an updated
    item counts as seen). Another outlet's wording never overwrites the
    first one's. Call inside a transaction.
    """
    return store_item_batches(db, [FeedItems(feed_id, records, archive, now)])[0]


def store_item_batches(
    db: sqlite_utils.Database, feeds: Sequence[FeedItems]
) -> list[tuple[int, int]]:
    """``store_items`` for each of ``feeds`` in turn, with the same rows stored and the
    same (new, already seen) per feed, written together. Call inside a transaction.

    The ids already stored are looked up once; the new items, every feed's
    sources, and the new items' labels and evidence then go in as a few
    multi-row inserts (``insert_rows``) in item id order, so each B-tree keyed
    by item id is walked once from one end to the other rather than at random
    (storing the collect bench's 50,000 items 40 feeds at a time: 2.68-2.82 s
    of CPU feed by feed, 2.41-2.44 s all together, 2.29-2.37 s all together in
    id order). Items already stored are revised last, one by one, as before.
    """
    conn = db.conn
    stored = _stored_ids(conn, [record.id for feed in feeds for record in feed.records])
    counts: list[tuple[int, int]] = []
    fresh: list[tuple[ItemRecord, FeedItems]] = []
    again: list[tuple[ItemRecord, FeedItems]] = []
    sources: list[tuple[str, int, str]] = []
    for feed in feeds:
        new = seen = 0
        for record in feed.records:
            if record.id in stored:
                again.append((record, feed))
                seen += 1
            else:
                stored.add(record.id)  # a repeat, in this feed or a later one, is "seen"
                fresh.append((record, feed))
                new += 1
        first_seen = to_iso(feed.now)
        sources += [(record.id, feed.feed_id, first_seen) for record in feed.records]
        counts.append((new, seen))
    fresh.sort(key=lambda pair: pair[0].id)
    sources.sort()
    insert_rows(
        conn,
        """INSERT OR IGNORE INTO items (id, feed_id, url, guid, title, summary, published,
                                        fetched, lang, flags, archive)""",
        # r[1:9]: url … flags
        [(r.id, feed.feed_id, *r[1:9], int(feed.archive)) for r, feed in fresh],
    )
    insert_rows(conn, "INSERT OR IGNORE INTO item_sources (item_id, feed_id, first_seen)", sources)
    _insert_tags(conn, [(r.id, r.labels, r.evidence) for r, _ in fresh])
    for record, feed in again:
        if _revise_item(db, feed.feed_id, record, feed.now):
            _replace_tags(db, record.id, record.labels, record.evidence)
    return counts


def _stored_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), ID_BATCH):
        chunk = ids[start : start + ID_BATCH]
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0] for row in conn.execute(f"SELECT id FROM items WHERE id IN ({marks})", chunk)
        )
    return found


def _revise_item(db: sqlite_utils.Database, feed_id: int, item: ItemRecord, now: datetime) -> bool:
    """Update a stored item its own feed changed, keeping the old version; True if changed."""
    row = db.execute(
        "SELECT feed_id, title, summary, url FROM items WHERE id = ?", [item.id]
    ).fetchone()
    if (
        row is None
        or row[0] != feed_id
        or (row[1], row[2], row[3])
        == (
            item.title,
            item.summary,
            item.url,
        )
    ):
        return False
    db.execute(
        """INSERT INTO item_revisions (item_id, title, summary, url, replaced)
           VALUES (?, ?, ?, ?, ?)""",
        [item.id, row[1], row[2], row[3], to_iso(now)],
    )
    db.execute(
        "UPDATE items SET title = ?, summary = ?, url = ?, lang = ? WHERE id = ?",
        [item.title, item.summary, item.url, item.lang, item.id],
    )
    return True


def item_history(db: sqlite_utils.Database, item_id: str) -> list[str]:
    """An item's titles, oldest first, ending with the current one."""
    earlier = [
        r[0]
        for r in db.execute(
            "SELECT title FROM item_revisions WHERE item_id = ? ORDER BY id", [item_id]
        )
    ]
    current = db.execute("SELECT title FROM items WHERE id = ?", [item_id]).fetchone()
    return earlier + ([current[0]] if current else [])


def write_tags(db: sqlite_utils.Database, item_id: str, tagging: Tagging) -> None:
    """Replace an item's labels and evidence with ``tagging`` (idempotent)."""
    _replace_tags(db, item_id, *tag_rows(tagging))


def _replace_tags(
    db: sqlite_utils.Database,
    item_id: str,
    labels: Sequence[Label],
    evidence: Sequence[Evidence],
) -> None:
    db.execute("DELETE FROM item_tags WHERE item_id = ?", [item_id])
    db.execute("DELETE FROM tag_matches WHERE item_id = ?", [item_id])
    _insert_tags(db.conn, [(item_id, labels, evidence)])


def _insert_tags(
    conn: sqlite3.Connection,
    tags: Sequence[tuple[str, Sequence[Label], Sequence[Evidence]]],
) -> None:
    """Labels and evidence of items that have none stored, in two batches."""
    insert_rows(
        conn,
        "INSERT INTO item_tags (item_id, kind, tag, weight, rules_version)",
        [(item_id, *label) for item_id, labels, _ in tags for label in labels],
    )
    insert_rows(
        conn,
        """INSERT INTO tag_matches (item_id, kind, tag, rule, field, start, "end", text,
                                    rules_version)""",
        [(item_id, *found) for item_id, _, evidence in tags for found in evidence],
    )


def insert_rows(conn: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]]) -> None:
    """``insert`` + one multi-row ``VALUES`` list per chunk of ``rows``.

    Unlike ``executemany``, which hands the GIL back and forth around every
    row, one statement inserts the whole chunk in a single step: the
    collector's writer thread then does not queue for the GIL behind the
    parsing threads once per row.
    """
    if not rows:
        return
    width = len(rows[0])
    per_chunk = max(1, MAX_PARAMETERS // width)
    placeholder = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start : start + per_chunk]
        values = ", ".join([placeholder] * len(chunk))
        conn.execute(f"{insert} VALUES {values}", [v for row in chunk for v in row])


def count_items(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM items").fetchone()[0])


def iter_items_for_export(
    db: sqlite_utils.Database, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every stored item (published on or after ``since``), oldest first, with its tags."""
    where, params = ("WHERE i.published >= ?", [to_iso(since)]) if since else ("", [])
    rows = db.query(
        f"""
        SELECT i.id, f.url AS feed, f.name AS feed_name, f.country AS feed_country, i.url,
               i.guid, i.title, i.summary, i.published, i.fetched, i.lang, i.flags, i.archive,
               (SELECT json_group_array(tag) FROM
                   (SELECT tag FROM item_tags WHERE item_id = i.id AND kind = 'actor'
                    ORDER BY tag)) AS actors,
               (SELECT json_group_array(tag) FROM
                   (SELECT tag FROM item_tags WHERE item_id = i.id AND kind = 'category'
                    ORDER BY tag)) AS categories,
               (SELECT coalesce(sum(weight), 0) FROM item_tags
                   WHERE item_id = i.id AND kind = 'category') AS escalation,
               (SELECT max(rules_version) FROM item_tags WHERE item_id = i.id) AS rules_version
        FROM items i JOIN feeds f ON f.id = i.feed_id
        {where}
        ORDER BY i.published, i.id
        """,
        params,
    )
    yield from rows


def item_ids(db: sqlite_utils.Database, since: datetime | None = None) -> list[str]:
    """Ids of stored items published on or after ``since``, oldest first."""
    where, params = ("WHERE published >= ?", [to_iso(since)]) if since else ("", [])
    cursor = db.execute(f"SELECT id FROM items {where} ORDER BY published, id", params)
    return [row[0] for row in cursor]


def item_texts(db: sqlite_utils.Database, ids: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(id, title, summary, lang) of the given items."""
    marks = ",".join("?" * len(ids))
    cursor = db.execute(
        f"SELECT id, title, summary, lang FROM items WHERE id IN ({marks})", list(ids)
    )
    return [(r[0], r[1], r[2], r[3]) for r in cursor]
