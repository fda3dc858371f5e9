"""Stories: the same wire story republished by several outlets, clustered into one.

An item joins a story when it was published within ``STORY_WINDOW`` of
the story's first item (so stories never chain on for days) and its text are near-duplicates: the
Jaccard similarity of their word shingles (title plus the first
``LEAD_WORDS`` words of the summary (``storage.minhash``), case- and accent-folded, word pairs)
with one of the story's items is at least ``THRESHOLD``. Finding candidates uses MinHash LSH
so the cost per new item does not grow with the database; the
MinHash estimate of the Jaccard similarity then decides.

Why these numbers: outlets republishing a wire story rewrite a headline
word or two and cut or extend the lead, which keeps well over half the
word pairs; two different events about the same dyad ("Algeria accuses
Morocco…" on consecutive days) share far fewer once the lead is included.
A day covers a story's republication cycle across time zones without
merging a recurring daily statement ("Israeli strike in Gaza, <date>") into
one story.

An item joins the story of its most similar earlier-clustered neighbour;
with none it starts its own story (whose id is the item's id). Precisely:

- pending items are clustered one at a time in (published, id) order, each
  against every item clustered before it (by earlier refreshes or earlier
  in this one);
- its candidates are the items sharing at least one band of the signature
  with it (LSH: ``BANDS`` bands of ``ROWS`` values, the layout datasketch's
  ``MinHashLSH`` picks for this threshold and ``NUM_PERM``); the similarity
  is the share of equal values of the two signatures (datasketch's
  ``MinHash.jaccard``; signatures and band keys come from ``storage.minhash``);
- a candidate counts when that similarity is at least ``THRESHOLD`` and its
  story's first item is within ``STORY_WINDOW`` of the item; "first item" as
  the refresh began: the earliest of the story's items clustered before this
  refresh, or for a story begun in this refresh, the item that began it (a
  late item that joins a story before its first item moves the start from
  the next refresh on);
- the most similar counting candidate wins; on equal similarity the one
  published first, then the lowest item id.

Storage: every clustered item's signature (``story_signatures``: ``NUM_PERM``
32-bit values, little-endian) and its band keys (``story_bands``: a 64-bit hash
of the band's number and values; a collision only adds a candidate, which the
band comparison of the two signatures then drops) are kept, so a refresh
reads only the earlier items that share a band with its pending items,
``CHUNK_ITEMS`` pending items at a time (their pairs with each other
``_PART_ITEMS`` at a time): its memory follows the chunk, not the database or
the number of items pending. An item clustered before
signatures were stored, or whose text changed since (a trigger drops its
signature), gets one computed by the next refresh that may meet it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from storage.db import from_iso, to_iso
from storage.minhash import (
    BANDS,
    NUM_PERM,
    ROWS,
    SIGNATURE_BYTES,
    Keys,
    Signatures,
    band_keys,
    sign_texts,
)

if TYPE_CHECKING:
    import sqlite_utils

STORY_WINDOW = timedelta(days=1)
THRESHOLD = 0.5
CHUNK_ITEMS = 5000  # pending items clustered per step: bounds memory
# equal values two signatures need, compared as datasketch does (a float share)
_SIMILAR = min(n for n in range(NUM_PERM + 1) if n / NUM_PERM >= THRESHOLD)
_MICROSECOND = timedelta(microseconds=1)
_WINDOW = STORY_WINDOW // _MICROSECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = -(1 << 62)  # a start no item is within the window of

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class StoryCandidate:
    id: str
    published: datetime
    title: str
    summary: str


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


StartsOf = Callable[[Collection[str]], dict[str, int]]


@dataclass(frozen=True)
class Neighbours:
    """A block of items clustered before: ids, published (microseconds), stories,
    signatures, one row each."""

    ids: Sequence[str]
    published: Sequence[int]
    stories: Sequence[str]
    signatures: Signatures


_PAIRS = 1 << 16  # (item, neighbour) pairs matched at once: bounds memory
_EQUAL_ROWS = 1 << 13  # pairs whose signatures are compared at once (64 bytes each)
_DENSE = 256  # pairs per pending item beyond which repeated pairs are dropped first


def _shared_keys(query: Keys, keys: Keys) -> Iterator[tuple[Rows, Rows]]:
    """(query row, row of ``keys``) for every pair of rows sharing a band key (a pair may
    come once per band shared, never in two batches), in batches of about ``_PAIRS``
    (a row sharing a common band with many comes in a batch of its own)."""
    if not len(query) or not len(keys):
        return
    orders = [np.argsort(keys[:, band], kind="stable") for band in range(BANDS)]
    columns = [keys[order, band] for band, order in enumerate(orders)]
    lows = np.stack(
        [np.searchsorted(c, query[:, b], "left") for b, c in enumerate(columns)], axis=1
    )
    highs = np.stack(
        [np.searchsorted(c, query[:, b], "right") for b, c in enumerate(columns)], axis=1
    )
    counts = highs - lows
    totals = np.cumsum(counts.sum(axis=1))
    first = 0
    while first < len(query):
        base = int(totals[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(totals, base + _PAIRS, "right")))
        rows_q: list[Rows] = []
        rows_k: list[Rows] = []
        for band in range(BANDS):
            low, count = lows[first:last, band], counts[first:last, band]
            total = int(count.sum())
            if not total:
                continue
            offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
            rows_q.append(np.repeat(np.arange(first, last), count))
            rows_k.append(orders[band][np.repeat(low, count) + offsets])
        if rows_q:
            pairs_q, pairs_k = np.concatenate(rows_q), np.concatenate(rows_k)
            if len(pairs_q) > _DENSE * (last - first):
                # copies of one text share every band: keep each pair once, not 14 times
                # (elsewhere repeats are few and cost less than removing them)
                pairs = np.unique(pairs_q * len(keys) + pairs_k)
                pairs_q, pairs_k = pairs // len(keys), pairs % len(keys)
            yield pairs_q, pairs_k
        first = last


def _similar_pairs(
    query: Signatures, query_keys: Keys, signatures: Signatures, keys: Keys
) -> Iterator[tuple[Rows, Rows, Rows]]:
    """(query row, row, equal values) of the pairs sharing a band (a key shared by chance
    is no shared band) whose similarity reaches ``THRESHOLD``, each pair once."""
    for pairs_q, pairs_k in _shared_keys(query_keys, keys):
        found_q: list[Rows] = [_NO_ROWS]
        found_k: list[Rows] = [_NO_ROWS]
        found_similar: list[Rows] = [_NO_ROWS]
        for first in range(0, len(pairs_q), _EQUAL_ROWS):
            rows_q = pairs_q[first : first + _EQUAL_ROWS]
            rows_k = pairs_k[first : first + _EQUAL_ROWS]
            equal = query[rows_q] == signatures[rows_k]
            similar = np.count_nonzero(equal, axis=1)
            keep = similar >= _SIMILAR
            banded = equal[keep, : BANDS * ROWS].reshape(-1, BANDS, ROWS)
            shared = banded.all(axis=2).any(axis=1)
            found_q.append(rows_q[keep][shared])
            found_k.append(rows_k[keep][shared])
            found_similar.append(similar[keep][shared])
        # a batch holds every repeat of its pairs
        pairs, once = np.unique(
            np.concatenate(found_q) * len(keys) + np.concatenate(found_k), return_index=True
        )
        yield pairs // len(keys), pairs % len(keys), np.concatenate(found_similar)[once]


def _best_per_story(
    items: Rows, rows: Rows, similar: Rows, story_codes: Rows, rank: Rows
) -> tuple[Rows, Rows, Rows]:
    """Of the similar pairs with known rows, one per (item, story): the row that item would
    pick in that story (most similar, then first by (published, id)); the others can never
    be picked, and a story of many items would otherwise bring them all along."""
    stories = story_codes[rows]
    order = np.lexsort((rank[rows], -similar, stories, items))
    items, rows, similar, stories = items[order], rows[order], similar[order], stories[order]
    first = np.ones(len(items), dtype=np.bool_)
    first[1:] = (items[1:] != items[:-1]) | (stories[1:] != stories[:-1])
    return items[first], rows[first], similar[first]


def _assign(
    ids: Sequence[str],
    published: Sequence[int],
    signatures: Signatures,
    keys: Keys,
    known: Iterable[Neighbours],
    starts_of: StartsOf,
) -> dict[str, str]:
    """Story id of each pending item (given in (published, id) order, ids distinct and
    none among the ``known`` items; ``keys``: their band keys): the rule of the module
    docstring. ``starts_of`` gives the first item of the known stories it is asked about."""
    # 1. similar pairs with the known items, block by block, one per (item, story): they
    # do not depend on the stories the pending items join
    pair_item: list[Rows] = []
    pair_row: list[Rows] = []
    pair_similar: list[Rows] = []
    row_ids: list[str] = []
    row_published: list[int] = []
    row_stories: list[str] = []
    for block in known:
        block_keys = band_keys(block.signatures)
        _, story_codes = np.unique(np.array(block.stories), return_inverse=True)
        rank = np.empty(len(block.ids), dtype=np.int64)
        rank[np.lexsort((np.array(block.ids), np.array(block.published)))] = np.arange(len(rank))
        found = [
            _best_per_story(*pairs, story_codes, rank)
            for pairs in _similar_pairs(signatures, keys, block.signatures, block_keys)
        ]
        rows = np.unique(np.concatenate([r for _, r, _ in found])) if found else _NO_ROWS
        for items, block_rows, similar in found:
            pair_item.append(items)
            pair_row.append(np.searchsorted(rows, block_rows) + len(row_ids))
            pair_similar.append(similar)
        for row in rows.tolist():
            row_ids.append(block.ids[row])
            row_published.append(block.published[row])
            row_stories.append(block.stories[row])
    first = len(row_ids)
    row_ids += ids
    row_published += published
    # 2. the starts of the stories they may join (or that are named like a pending item)
    starts_known = starts_of(set(row_stories) | set(ids))
    for name in row_stories:  # no start: its items were deleted, it is never joined
        starts_known.setdefault(name, _NEVER)
    names = list(starts_known)
    number = {name: n for n, name in enumerate(names)}
    starts = np.zeros(len(names) + len(ids), dtype=np.int64)
    starts[: len(names)] = list(starts_known.values())
    row_story = np.full(len(row_ids), -1, dtype=np.int64)
    row_story[:first] = [number[name] for name in row_stories]
    published_of = np.array(row_published, dtype=np.int64)
    known_pairs = _by_item(pair_item, pair_row, pair_similar, len(ids))
    # 3. in order, each item joins its best candidate's story or begins its own; the
    # pairs with earlier pending items are found a part of the chunk at a time, those
    # with parts already done kept one per story (as for the known items)
    assigned: dict[str, str] = {}
    for part in range(0, len(ids), _PART_ITEMS):
        end = min(len(ids), part + _PART_ITEMS)
        earlier = _earlier_pairs(signatures, keys, part, end, row_story[first:])
        part_pairs = _by_item(*earlier, end)
        for n in range(part, end):
            row = first + n
            low, high = known_pairs[2][n : n + 2]
            part_low, part_high = part_pairs[2][n : n + 2]
            near = np.concatenate(
                [known_pairs[0][low:high], part_pairs[0][part_low:part_high] + first]
            )
            best = None
            if len(near):
                similar = np.concatenate(
                    [known_pairs[1][low:high], part_pairs[1][part_low:part_high]]
                )
                best = _best_row(row, near, similar, published_of, row_ids, starts[row_story[near]])
            if best is not None:
                story = int(row_story[best])
            else:
                story = number.setdefault(ids[n], len(names))
                if story == len(names):
                    names.append(ids[n])
                    starts[story] = published[n]
            row_story[row] = story
            assigned[ids[n]] = names[story]
    return assigned


_PART_ITEMS = 500  # pending items whose pairs with earlier pending items are held at once


def _earlier_pairs(
    signatures: Signatures, keys: Keys, part: int, end: int, stories: Rows
) -> tuple[list[Rows], list[Rows], list[Rows]]:
    """Similar pairs (item, earlier item, equal values) of the pending items ``part`` to
    ``end`` (chunk rows) with the earlier ones; those before ``part`` have their story
    (``stories``) and are kept one per story."""
    items_: list[Rows] = []
    rows_: list[Rows] = []
    similar_: list[Rows] = []
    rank = np.arange(end)  # the chunk is in (published, id) order
    for items, rows, similar in _similar_pairs(
        signatures[part:end], keys[part:end], signatures[:end], keys[:end]
    ):
        items = items + part
        before = rows < items
        items, rows, similar = items[before], rows[before], similar[before]
        done = rows < part
        kept = _best_per_story(items[done], rows[done], similar[done], stories, rank)
        for found, pairs in zip((items_, rows_, similar_), kept, strict=True):
            found.append(pairs)
        items_.append(items[~done])
        rows_.append(rows[~done])
        similar_.append(similar[~done])
    return items_, rows_, similar_


def _by_item(
    items: list[Rows], rows: list[Rows], similar: list[Rows], count: int
) -> tuple[Rows, Rows, list[int]]:
    """The pairs' rows and equal values sorted by item, and where each item ``0 .. count``
    begins in them."""
    every = np.concatenate([_NO_ROWS, *items])
    order = np.argsort(every, kind="stable")
    bounds = np.searchsorted(every[order], np.arange(count + 1)).tolist()
    return (
        np.concatenate([_NO_ROWS, *rows])[order],
        np.concatenate([_NO_ROWS, *similar])[order],
        bounds,
    )


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _best_row(
    row: int,
    candidates: Rows,
    similar: Rows,
    row_published: Rows,
    row_ids: list[str],
    starts: Rows,
) -> int | None:
    """The candidate ``row`` joins: the most similar whose story began near enough, on a
    tie the one published first, then the lowest id; None if none counts."""
    near = np.abs(starts - row_published[row]) <= _WINDOW
    if not near.any():
        return None
    candidates, similar = candidates[near], similar[near]
    top = candidates[similar == similar.max()].tolist()
    return int(min(top, key=lambda r: (int(row_published[r]), row_ids[r])))


def cluster_stories(
    pending: Sequence[StoryCandidate], known: Sequence[tuple[StoryCandidate, str]]
) -> dict[str, str]:
    """Story id for each pending item (in published order), given already-clustered
    ``known`` items and their story ids: all in memory (``cluster_pending`` is the
    database's way)."""
    starts: dict[str, int] = {}
    for candidate, story in known:
        when = _micros(candidate.published)
        starts[story] = min(starts.get(story, when), when)
    block = Neighbours(
        [c.id for c, _ in known],
        [_micros(c.published) for c, _ in known],
        [story for _, story in known],
        sign_texts([(c.title, c.summary) for c, _ in known]),
    )
    seen = set(block.ids)
    ordered = []
    for candidate in sorted(pending, key=lambda c: (c.published, c.id)):
        if candidate.id not in seen:  # already clustered: keeps its story
            seen.add(candidate.id)
            ordered.append(candidate)
    signatures = sign_texts([(c.title, c.summary) for c in ordered])
    return _assign(
        [c.id for c in ordered],
        [_micros(c.published) for c in ordered],
        signatures,
        band_keys(signatures),
        [block],
        lambda stories: {s: starts[s] for s in stories if s in starts},
    )


# ---- in the database -----------------------------------------------------------------


def _parse_micros(text: str) -> int:
    return _micros(from_iso(text))


def _iso_before(text: str, delta: timedelta) -> str:
    return to_iso(from_iso(text) - delta)


def cluster_pending(db: sqlite_utils.Database) -> Iterator[dict[str, str]]:
    """Put every pending item (``agg_pending``, not clustered yet) into a story,
    ``CHUNK_ITEMS`` at a time in (published, id) order; each chunk's ``story_items``
    rows and signatures are written before its assignments (item -> story) are yielded.
    Call inside a write transaction."""
    conn = db.conn
    for sql in (
        """CREATE TEMP TABLE IF NOT EXISTS story_queue (published TEXT NOT NULL,
               item_id TEXT NOT NULL, PRIMARY KEY (published, item_id)) WITHOUT ROWID""",
        "CREATE TEMP TABLE IF NOT EXISTS story_near (id INTEGER PRIMARY KEY)",
        "DELETE FROM temp.story_queue",
    ):
        conn.execute(sql)
    conn.execute(
        """INSERT INTO temp.story_queue (published, item_id)
           SELECT i.published, i.id FROM agg_pending p JOIN items i ON i.id = p.item_id
           WHERE NOT EXISTS (SELECT 1 FROM story_items si WHERE si.item_id = p.item_id)"""
    )
    first = conn.execute("SELECT min(published) FROM temp.story_queue").fetchone()[0]
    if first is None:
        return
    # no item published earlier than this can be a candidate (see _load_neighbours)
    _sign_clustered(db, _iso_before(first, 2 * STORY_WINDOW))
    after = ("", "")
    while True:
        chunk = conn.execute(
            """SELECT q.item_id, q.published, i.title, i.summary FROM temp.story_queue q
               JOIN items i ON i.id = q.item_id WHERE (q.published, q.item_id) > (?, ?)
               ORDER BY q.published, q.item_id LIMIT ?""",
            [*after, CHUNK_ITEMS],
        ).fetchall()
        if not chunk:
            break
        after = (chunk[-1][1], chunk[-1][0])
        yield _cluster_chunk(db, chunk)
    conn.execute("DELETE FROM temp.story_queue")


def _cluster_chunk(db: sqlite_utils.Database, chunk: Sequence[Sequence[Any]]) -> dict[str, str]:
    ids = [row[0] for row in chunk]
    signatures = sign_texts([(row[2], row[3]) for row in chunk])
    keys = band_keys(signatures)
    assigned = _assign(
        ids,
        [_parse_micros(row[1]) for row in chunk],
        signatures,
        keys,
        _neighbours(db, keys, _iso_before(chunk[0][1], 2 * STORY_WINDOW)),
        lambda stories: _story_starts(db, sorted(stories)),
    )
    _store_signatures(db, ids, [row[1] for row in chunk], signatures, keys)
    db.conn.executemany(
        "INSERT OR REPLACE INTO story_items (item_id, story_id) VALUES (?, ?)",
        list(assigned.items()),
    )
    return assigned


_BLOCK_ROWS = 4096  # neighbours read at once


def _neighbours(db: sqlite_utils.Database, keys: Keys, since: str) -> Iterator[Neighbours]:
    """The clustered items sharing a band key with ``keys``, ``_BLOCK_ROWS`` at a time.

    Only items published at ``since`` (the chunk's first item less twice the window)
    or later: a candidate's story began within the window of the pending item, and
    every item of a story was published no earlier than a window before its start
    (its start as the item joined, which only moves earlier)."""
    conn = db.conn
    conn.execute("DELETE FROM temp.story_near")
    conn.execute(  # the keys as one JSON array: binding them one by one took longer
        """INSERT INTO temp.story_near (id) SELECT DISTINCT b.signature
           FROM json_each(?) p JOIN story_bands b ON b.key = p.value""",
        [json.dumps(np.unique(keys).tolist())],
    )
    cursor = conn.execute(
        """SELECT s.item_id, s.published, si.story_id, s.signature
           FROM temp.story_near n JOIN story_signatures s ON s.id = n.id
           JOIN story_items si ON si.item_id = s.item_id
           WHERE s.published >= ? AND length(s.signature) = ?""",
        [since, SIGNATURE_BYTES],
    )
    while rows := cursor.fetchmany(_BLOCK_ROWS):
        blob = b"".join(row[3] for row in rows)
        yield Neighbours(
            [row[0] for row in rows],
            [_parse_micros(row[1]) for row in rows],
            [row[2] for row in rows],
            np.frombuffer(blob, dtype="<u4").astype(np.uint32).reshape(len(rows), NUM_PERM),
        )


def _story_starts(db: sqlite_utils.Database, stories: Sequence[str]) -> dict[str, int]:
    """Each story's first item as the refresh began: its earliest item not pending in
    this refresh, or (a story begun in it) its earliest item."""
    starts: dict[str, int] = {}
    for first in range(0, len(stories), 500):
        batch = stories[first : first + 500]
        marks = ", ".join("?" for _ in batch)
        for story, start in db.conn.execute(
            f"""SELECT si.story_id,
                       coalesce(min(CASE WHEN q.item_id IS NULL THEN i.published END),
                                min(i.published))
                FROM story_items si JOIN items i ON i.id = si.item_id
                LEFT JOIN temp.story_queue q
                     ON q.published = i.published AND q.item_id = si.item_id
                WHERE si.story_id IN ({marks}) GROUP BY si.story_id""",
            batch,
        ):
            starts[story] = _parse_micros(start)
    return starts


def _store_signatures(
    db: sqlite_utils.Database,
    ids: Sequence[str],
    published: Sequence[str],
    signatures: Signatures,
    keys: Keys,
) -> None:
    """Write (or replace) these items' signatures and their band keys."""
    conn = db.conn
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM story_signatures").fetchone()[0]
    blobs = signatures.astype("<u4")
    conn.executemany(
        """INSERT OR REPLACE INTO story_signatures (id, item_id, published, signature)
           VALUES (?, ?, ?, ?)""",
        [(first + n, item, published[n], blobs[n].tobytes()) for n, item in enumerate(ids)],
    )
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")  # in key order: each insert lands by the last
    owners = np.repeat(np.arange(first, first + len(ids)), BANDS)[order]
    conn.executemany(
        "INSERT OR IGNORE INTO story_bands (key, signature) VALUES (?, ?)",
        zip(flat[order].tolist(), owners.tolist(), strict=True),
    )


def _sign_clustered(db: sqlite_utils.Database, since: str) -> None:
    """Compute and store the signatures that clustered items published at ``since`` or
    later lack (clustered before signatures were kept, text changed, row damaged)."""
    conn = db.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS story_unsigned (item_id TEXT NOT NULL)")
    conn.execute("DELETE FROM temp.story_unsigned")
    conn.execute(
        """INSERT INTO temp.story_unsigned (item_id)
           SELECT i.id FROM items i JOIN story_items si ON si.item_id = i.id
           WHERE i.published >= ? AND NOT EXISTS (SELECT 1 FROM story_signatures s
                 WHERE s.item_id = i.id AND s.published = i.published
                 AND length(s.signature) = ?)""",
        [since, SIGNATURE_BYTES],
    )
    after = 0
    while True:
        rows = conn.execute(
            """SELECT u.rowid, i.id, i.published, i.title, i.summary FROM temp.story_unsigned u
               JOIN items i ON i.id = u.item_id WHERE u.rowid > ? ORDER BY u.rowid LIMIT ?""",
            [after, CHUNK_ITEMS],
        ).fetchall()
        if not rows:
            break
        after = rows[-1][0]
        signatures = sign_texts([(row[3], row[4]) for row in rows])
        ids, published = [row[1] for row in rows], [row[2] for row in rows]
        _store_signatures(db, ids, published, signatures, band_keys(signatures))
    conn.execute("DELETE FROM temp.story_unsigned")
