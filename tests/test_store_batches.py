"""Storing several feeds' items at once stores what storing them one feed after the other does.

``storage.items.store_item_batches`` writes the items of every poll of a
batch together (the collector's ``store_polls``); ``store_items`` is one
feed. Two real SQLite files start from the same stored items; one gets a
batch feed by feed, the other all at once, and every table the items touch
must then hold the same rows, with the same (new, already seen) per feed.
The batch holds the cases where order could matter: an item revised by the
feed that first stored it, the same item in another outlet's wording, an
item new in one feed and seen again in a later one, and a repeat within one
feed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from model import FeedSpec, NormalisedItem, TaggedItem
from storage.db import open_database
from storage.feeds import sync_feeds
from storage.items import FeedItems, store_item_batches, store_items, write_transaction
from storage.records import ItemRecord, item_records
from tagging import Tagger, load_rules

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ("https://a.example/feed", "https://b.example/feed", "https://c.example/feed")
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)

# Every table a stored item touches, each read in an order that ignores insertion order.
TABLES = {
    "items": "SELECT id, feed_id, url, guid, title, summary, published, fetched, lang, flags, "
    "archive FROM items ORDER BY id",
    "item_sources": "SELECT * FROM item_sources ORDER BY item_id, feed_id",
    "item_tags": "SELECT * FROM item_tags ORDER BY item_id, kind, tag",
    "tag_matches": 'SELECT item_id, kind, tag, rule, field, start, "end", text, rules_version '
    'FROM tag_matches ORDER BY item_id, field, start, "end", rule',
    "item_revisions": "SELECT item_id, title, summary, url, replaced FROM item_revisions "
    "ORDER BY item_id, id",
    "agg_pending": "SELECT * FROM agg_pending ORDER BY item_id",
    "agg_dirty": "SELECT * FROM agg_dirty ORDER BY day",
    "fts": "SELECT rowid, title FROM items_fts WHERE items_fts MATCH 'ambassador' ORDER BY rowid",
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_rules(ROOT / "seeds" / "rules.yaml"))


def records(tagger: Tagger, feed: str, *items: tuple[str, str], hours: int = 0) -> list[ItemRecord]:
    """Records of (id, title) items as ``feed`` gives them, tagged for real."""
    tagged = []
    for item_id, title in items:
        item = NormalisedItem(
            id=item_id,
            feed_url=feed,
            url=f"https://news.example/{item_id}",
            guid=None,
            title=title,
            summary=f"{title}. Correspondents describe the day.",
            published=NOW - timedelta(days=int(item_id[-1]), hours=hours),
            fetched=NOW + timedelta(hours=hours),
            lang="en",
        )
        tagged.append(TaggedItem(item, tagger.tag(item.title, item.summary, item.lang)))
    return list(item_records(tagged))


def database(path: Path, tagger: Tagger) -> tuple[sqlite_utils.Database, list[int]]:
    """A database where feed A has already stored x1 and x2."""
    db = open_database(path)
    sync_feeds(db, [FeedSpec(url=url) for url in FEEDS], NOW)
    ids = [db.execute("SELECT id FROM feeds WHERE url = ?", [url]).fetchone()[0] for url in FEEDS]
    earlier = records(
        tagger,
        FEEDS[0],
        ("x1", "Morocco recalls its ambassador from Algiers"),
        ("x2", "Algeria closes its airspace to Moroccan planes"),
    )
    with write_transaction(db):
        store_items(db, ids[0], earlier, archive=False, now=NOW - timedelta(days=1))
    return db, ids


def polled(
    tagger: Tagger, ids: list[int], feed: int, *items: tuple[str, str], archive: bool = False
) -> FeedItems:
    """Feed number ``feed``'s items as its poll, ``feed`` + 1 hours after NOW, brought them."""
    hours = feed + 1
    return FeedItems(
        ids[feed],
        records(tagger, FEEDS[feed], *items, hours=hours),
        archive,
        NOW + timedelta(hours=hours),
    )


def the_batch(tagger: Tagger, ids: list[int]) -> list[FeedItems]:
    return [
        polled(
            tagger,
            ids,
            0,
            ("x1", "Morocco recalls its ambassador from Algiers for consultations"),
            ("x2", "Algeria closes its airspace to Moroccan planes"),
            ("x3", "Polisario accuses Morocco of a drone strike near Tifariti"),
        ),
        polled(
            tagger,
            ids,
            1,
            ("x1", "Rabat calls its ambassador home from Algeria"),
            ("x4", "UN envoy meets Polisario leaders in the Tindouf camps"),
            ("x3", "Drone strike near Tifariti, says the Polisario"),
            archive=True,
        ),
        polled(
            tagger,
            ids,
            2,
            ("x4", "UN envoy in Tindouf"),
            ("x5", "Israel and Morocco sign a defence cooperation accord"),
            ("x5", "Israel and Morocco sign a defence accord"),
        ),
    ]


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    return {name: [tuple(row) for row in db.execute(sql)] for name, sql in TABLES.items()}


def test_a_batch_stores_what_its_feeds_store_one_after_the_other(
    tmp_path: Path, tagger: Tagger
) -> None:
    one_by_one, ids = database(tmp_path / "one_by_one.db", tagger)
    together, same_ids = database(tmp_path / "together.db", tagger)
    assert ids == same_ids
    batch = the_batch(tagger, ids)

    with write_transaction(one_by_one):
        counts = [
            store_items(one_by_one, f.feed_id, f.records, archive=f.archive, now=f.now)
            for f in batch
        ]
    with write_transaction(together):
        batched = store_item_batches(together, batch)

    assert batched == counts == [(1, 2), (1, 2), (1, 2)]
    stored = dump(together)
    assert stored == dump(one_by_one)
    # what the comparison covers: A's revision of its own item, not B's wording
    titles = {row[0]: row[4] for row in stored["items"]}
    assert titles["x1"] == "Morocco recalls its ambassador from Algiers for consultations"
    assert titles["x3"] == "Polisario accuses Morocco of a drone strike near Tifariti"
    # a repeat within one feed is that feed's revision of what it has just stored
    assert titles["x5"] == "Israel and Morocco sign a defence accord"
    assert [row[:2] for row in stored["item_revisions"]] == [
        ("x1", "Morocco recalls its ambassador from Algiers"),
        ("x5", "Israel and Morocco sign a defence cooperation accord"),
    ]
    assert len(stored["item_sources"]) == 8  # x1-x2 by A, x1 x3 x4 by B, x4 x5 by C, x3 by A
    assert stored["item_tags"] and stored["tag_matches"] and stored["fts"]


def test_an_empty_batch_stores_nothing(tmp_path: Path, tagger: Tagger) -> None:
    db, _ = database(tmp_path / "empty.db", tagger)
    before = dump(db)
    with write_transaction(db):
        assert store_item_batches(db, []) == []
    assert dump(db) == before
