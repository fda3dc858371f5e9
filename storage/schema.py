"""The schema and its migrations.

``PRAGMA user_version`` holds the schema version. ``migrate`` applies every
migration above it, each in its own transaction, so running it again is a
no-op and a crash mid-migration leaves the previous version intact.

Tables:

- ``feeds``: one row per configured feed (``config_url``, as the config
  names it; ``url``, where it lives now after permanent redirects), its
  configuration and polling state (validators, error count, Retry-After and
  back-off windows, last success, error and warning).
- ``items``: one row per article (``id`` is stable across feeds and polls).
- ``item_sources``: which feeds carried which item (outlet counts).
- ``item_tags``: the item's current labels, one row per (kind, tag), with
  the category weight and the rules version that produced it.
- ``tag_matches``: the evidence: every rule firing with field, span, text.
- ``rules_versions``: every rules file content hash ever applied.
- ``fetch_log``: one row per poll of a feed.
- ``items_fts``: FTS5 over items' title and summary, kept by triggers.
- ``alert_history``, ``alert_messages``, ``alert_state``: alerts fired (one row
  per rule, series and episode), the emails carrying them (Message-ID recorded
  before sending, delivery status) and each rule's cooldown and watermark.
- ``item_revisions``: an item's earlier versions (title, summary, url),
  one row each time the feed that first carried it changed it under the
  same id (e.g. a corrected headline under the same GUID), with when it
  was replaced. The ``items`` row always holds the latest version.
- Aggregates (``storage.aggregates`` keeps them; triggers only note what
  changed): ``stories`` (near-duplicate items clustered; ``id`` is the first
  item's id, ``day`` its UTC day; item and distinct-outlet counts, first
  title), ``story_items`` (each clustered item's story), ``agg_pending``
  (items not yet clustered), ``agg_dirty`` (UTC days to recompute),
  ``agg_daily`` (per ``unit`` item/story, ``kind``, ``key`` and ``day``:
  count, escalation and de-escalation sums) and ``agg_state`` (one row;
  ``version`` grows whenever the aggregates change: the dashboard's cache key).
- ``story_signatures`` (each clustered item's MinHash signature, dropped by
  triggers when its text changes or it is deleted) and ``story_bands`` (the
  signature's LSH band keys, each pointing at a signature row; rows left by
  a dropped signature point nowhere): see ``storage.stories``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            config_url TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            lang TEXT NOT NULL DEFAULT '',
            interval INTEGER,
            enabled INTEGER NOT NULL DEFAULT 1,
            archive INTEGER NOT NULL DEFAULT 0,
            disabled_reason TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            last_status INTEGER,
            last_polled TEXT,
            last_ok TEXT,
            last_error TEXT,
            last_error_at TEXT,
            error_since TEXT,
            last_warning TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            retry_after TEXT,
            backoff_until TEXT,
            next_due TEXT,
            created TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id),
            url TEXT,
            guid TEXT,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            published TEXT NOT NULL,
            fetched TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '',
            archive INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE item_sources (
            item_id TEXT NOT NULL REFERENCES items(id),
            feed_id INTEGER NOT NULL REFERENCES feeds(id),
            first_seen TEXT NOT NULL,
            PRIMARY KEY (item_id, feed_id)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE item_tags (
            item_id TEXT NOT NULL REFERENCES items(id),
            kind TEXT NOT NULL CHECK (kind IN ('actor', 'category')),
            tag TEXT NOT NULL,
            weight REAL NOT NULL DEFAULT 0,
            rules_version TEXT NOT NULL,
            PRIMARY KEY (item_id, kind, tag)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE tag_matches (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL REFERENCES items(id),
            kind TEXT NOT NULL,
            tag TEXT NOT NULL,
            rule TEXT NOT NULL,
            field TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            text TEXT NOT NULL,
            rules_version TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE rules_versions (
            version TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            first_applied TEXT NOT NULL,
            rule_count INTEGER NOT NULL,
            source TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id),
            started TEXT NOT NULL,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            new INTEGER NOT NULL DEFAULT 0,
            seen INTEGER NOT NULL DEFAULT 0,
            duration_ms INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            warning TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_items_published ON items(published)")
    db.execute("CREATE INDEX idx_items_feed ON items(feed_id, published)")
    db.execute("CREATE INDEX idx_item_sources_feed ON item_sources(feed_id)")
    db.execute("CREATE INDEX idx_item_tags_tag ON item_tags(kind, tag, item_id)")
    db.execute("CREATE INDEX idx_tag_matches_item ON tag_matches(item_id)")
    db.execute("CREATE INDEX idx_fetch_log_feed ON fetch_log(feed_id, started)")
    # FTS5 over an external content table, kept in step by triggers. Written
    # out rather than via sqlite-utils' enable_fts, whose executescript would
    # commit in the middle of this migration's transaction.
    db.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, content='items', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN "
        "INSERT INTO items_fts(rowid, title, summary) VALUES (new.rowid, new.title, new.summary); "
        "END"
    )
    db.execute(
        "CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, summary) "
        "VALUES ('delete', old.rowid, old.title, old.summary); END"
    )
    db.execute(
        "CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, summary) "
        "VALUES ('delete', old.rowid, old.title, old.summary); "
        "INSERT INTO items_fts(rowid, title, summary) VALUES (new.rowid, new.title, new.summary); "
        "END"
    )


def _alerts(db: sqlite_utils.Database) -> None:
    """Alert history, outgoing messages and per-rule state (see ``storage.alert_store``)."""
    db.execute(
        """
        CREATE TABLE alert_messages (
            message_id TEXT PRIMARY KEY,
            recipients TEXT NOT NULL,
            subject TEXT NOT NULL,
            raw BLOB NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            next_attempt TEXT,
            error TEXT,
            eml_path TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_history (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            kind TEXT NOT NULL,
            series TEXT NOT NULL,
            episode TEXT NOT NULL,
            fired TEXT NOT NULL,
            title TEXT NOT NULL,
            observed REAL,
            expected REAL,
            period TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}',
            item_ids TEXT NOT NULL DEFAULT '[]',
            held INTEGER NOT NULL DEFAULT 0,
            message_id TEXT REFERENCES alert_messages(message_id),
            UNIQUE (rule, series, episode)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_state (
            rule TEXT NOT NULL,
            series TEXT NOT NULL,
            last_fired TEXT,
            watermark INTEGER,
            PRIMARY KEY (rule, series)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_alert_history_fired ON alert_history(fired)")
    db.execute("CREATE INDEX idx_alert_messages_status ON alert_messages(status)")


def _aggregates(db: sqlite_utils.Database) -> None:
    """Stories and daily aggregates (see the module docstring), and the triggers that mark
    what ``storage.aggregates.refresh_aggregates`` must redo. Existing data is all pending."""
    for sql in (
        """CREATE TABLE stories (id TEXT PRIMARY KEY, day TEXT NOT NULL,
               first_published TEXT NOT NULL, items INTEGER NOT NULL,
               outlets INTEGER NOT NULL, title TEXT NOT NULL)""",
        "CREATE INDEX idx_stories_day ON stories(day)",
        """CREATE TABLE story_items (item_id TEXT PRIMARY KEY, story_id TEXT NOT NULL)
           WITHOUT ROWID""",
        "CREATE INDEX idx_story_items_story ON story_items(story_id)",
        "CREATE TABLE agg_pending (item_id TEXT PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE agg_dirty (day TEXT PRIMARY KEY) WITHOUT ROWID",
        """CREATE TABLE agg_daily (unit TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
               day TEXT NOT NULL, items INTEGER NOT NULL, escalation REAL NOT NULL,
               deescalation REAL NOT NULL, PRIMARY KEY (unit, kind, key, day)) WITHOUT ROWID""",
        "CREATE INDEX idx_agg_daily_day ON agg_daily(day)",
        """CREATE TABLE agg_state (id INTEGER PRIMARY KEY CHECK (id = 1),
               version INTEGER NOT NULL, refreshed TEXT)""",
        "INSERT INTO agg_state (id, version, refreshed) VALUES (1, 0, NULL)",
        """CREATE TRIGGER agg_items_ai AFTER INSERT ON items BEGIN
               INSERT OR IGNORE INTO agg_pending (item_id) VALUES (new.id);
               INSERT OR IGNORE INTO agg_dirty (day) VALUES (substr(new.published, 1, 10));
           END""",
        """CREATE TRIGGER agg_items_au AFTER UPDATE OF published, title, summary, feed_id
           ON items BEGIN
               INSERT OR IGNORE INTO agg_dirty (day) VALUES (substr(old.published, 1, 10));
               INSERT OR IGNORE INTO agg_dirty (day) VALUES (substr(new.published, 1, 10));
           END""",
        """CREATE TRIGGER agg_tags_ai AFTER INSERT ON item_tags BEGIN
               INSERT OR IGNORE INTO agg_dirty (day)
               SELECT substr(published, 1, 10) FROM items WHERE id = new.item_id;
           END""",
        """CREATE TRIGGER agg_tags_ad AFTER DELETE ON item_tags BEGIN
               INSERT OR IGNORE INTO agg_dirty (day)
               SELECT substr(published, 1, 10) FROM items WHERE id = old.item_id;
           END""",
        """CREATE TRIGGER agg_tags_au AFTER UPDATE ON item_tags BEGIN
               INSERT OR IGNORE INTO agg_dirty (day)
               SELECT substr(published, 1, 10) FROM items WHERE id = new.item_id;
           END""",
        """CREATE TRIGGER agg_sources_ai AFTER INSERT ON item_sources BEGIN
               INSERT OR IGNORE INTO agg_dirty (day)
               SELECT substr(published, 1, 10) FROM items WHERE id = new.item_id;
           END""",
        "INSERT INTO agg_pending (item_id) SELECT id FROM items",
        "INSERT OR IGNORE INTO agg_dirty (day) SELECT DISTINCT substr(published, 1, 10) FROM items",
    ):
        db.execute(sql)


def _item_revisions(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS item_revisions (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL REFERENCES items(id),
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            url TEXT,
            replaced TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_item_revisions_item ON item_revisions(item_id, id)")


def _dashboard_indexes(db: sqlite_utils.Database) -> None:
    """Items by language: the Items page's language list (a skip-scan over this index
    instead of grouping every item) and its language filter."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_items_lang ON items(lang, published)")


def _story_signatures(db: sqlite_utils.Database) -> None:
    """Signatures and band keys of clustered items, so that clustering reads only the
    neighbours of what is pending. Items clustered before get theirs when a refresh
    may meet them (``storage.stories``), not here: this migration stays instant."""
    for sql in (
        """CREATE TABLE story_signatures (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE,
               published TEXT NOT NULL, signature BLOB NOT NULL)""",
        """CREATE TABLE story_bands (key INTEGER NOT NULL, signature INTEGER NOT NULL,
               PRIMARY KEY (key, signature)) WITHOUT ROWID""",
        """CREATE TRIGGER story_signatures_au AFTER UPDATE OF title, summary ON items
           WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary BEGIN
               DELETE FROM story_signatures WHERE item_id = new.id;
           END""",
        """CREATE TRIGGER story_signatures_au_published AFTER UPDATE OF published ON items
           BEGIN
               UPDATE story_signatures SET published = new.published WHERE item_id = new.id;
           END""",
        """CREATE TRIGGER story_signatures_ad AFTER DELETE ON items BEGIN
               DELETE FROM story_signatures WHERE item_id = old.id;
           END""",
    ):
        db.execute(sql)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _aggregates,
    _alerts,
    _item_revisions,
    _dashboard_indexes,
    _story_signatures,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration; return the number applied."""
    applied = 0
    conn = db.conn
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(db)  # read inside the lock: two starters never race
            if current >= SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                return applied
            MIGRATIONS[current](db)
            conn.execute(f"PRAGMA user_version = {current + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied += 1
