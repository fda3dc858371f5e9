"""Story clustering against today's algorithm kept here as the oracle, in memory and in the
database over several refreshes, plus the ways the stored signatures can go wrong.

The oracle is ``cluster_stories`` as it was before signatures were stored (datasketch's
MinHash and MinHashLSH over every known item, one pair at a time) with one change: on
equal similarity the neighbour published first, then the lowest id, wins (it was set
order, so it changed between processes). Generated items: short texts over a small
vocabulary (so unrelated items sometimes reach the threshold), copies with a word or
two changed, copies beyond the story window, empty texts.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]

from model import StorageError
from storage import stories
from storage.aggregates import refresh_aggregates
from storage.db import open_database, to_iso, transaction
from storage.minhash import BANDS, NUM_PERM, ROWS, SEED, shingles, sign_texts
from storage.schema import MIGRATIONS
from storage.stories import STORY_WINDOW, THRESHOLD, StoryCandidate, cluster_stories
from tests.dbfactory import build_database

T0 = datetime(2024, 5, 20, 8, tzinfo=UTC)


def _minhash(candidate: StoryCandidate) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, seed=SEED)
    signature.update_batch([s.encode() for s in shingles(candidate.title, candidate.summary)])
    return signature


def oracle(
    pending: Sequence[StoryCandidate], known: Sequence[tuple[StoryCandidate, str]]
) -> dict[str, str]:
    """Today's ``cluster_stories`` (before stored signatures), ties made deterministic."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    info: dict[str, tuple[MinHash, str, tuple[datetime, str]]] = {}
    story_start: dict[str, datetime] = {}
    for candidate, story in known:
        signature = _minhash(candidate)
        info[candidate.id] = (signature, story, (candidate.published, candidate.id))
        story_start[story] = min(story_start.get(story, candidate.published), candidate.published)
        lsh.insert(candidate.id, signature)
    assigned: dict[str, str] = {}
    for candidate in sorted(pending, key=lambda c: (c.published, c.id)):
        if candidate.id in info:
            continue
        signature = _minhash(candidate)
        best: tuple[float, str, tuple[datetime, str]] | None = None
        for other in lsh.query(signature):
            other_signature, story, order = info[other]
            if abs(story_start[story] - candidate.published) > STORY_WINDOW:
                continue
            similarity = signature.jaccard(other_signature)
            if similarity >= THRESHOLD and (
                best is None
                or similarity > best[0]
                or (similarity == best[0] and order < best[2])  # the one change: ties
            ):
                best = (similarity, story, order)
        story = best[1] if best else candidate.id
        assigned[candidate.id] = story
        info[candidate.id] = (signature, story, (candidate.published, candidate.id))
        story_start.setdefault(story, candidate.published)
        lsh.insert(candidate.id, signature)
    return assigned


VOCABULARY = (
    "algeria", "morocco", "rabat", "algiers", "border", "envoy", "talks", "army", "drones",
    "deal", "un", "sahara", "polisario", "minister", "said", "on", "tuesday", "recalls",
    "ambassador", "after", "incident", "consultations", "statement", "gas", "pipeline", "spain",
    "france", "strike", "gaza", "israel", "ceasefire", "aid", "trucks", "crossing", "hostages",
)  # fmt: skip


def generated_items(count: int, seed: int) -> list[StoryCandidate]:
    """Originals, near-copies (some a day or more later), exact copies, empty texts."""
    rng = random.Random(seed)
    originals: list[tuple[str, str, datetime]] = []
    items: list[StoryCandidate] = []
    for n in range(count):
        when = T0 + timedelta(minutes=4 * n + rng.randint(0, 90))
        roll = rng.random()
        if roll < 0.02:
            title, summary = ("", "") if rng.random() < 0.5 else (rng.choice(VOCABULARY), "")
        elif roll < 0.6 and originals:
            title, summary, first = rng.choice(originals[-30:])
            words = title.split()
            for _ in range(rng.randint(0, 2)):
                words[rng.randrange(len(words))] = rng.choice(VOCABULARY)
            title = " ".join(words)
            lead = summary.split()
            summary = " ".join(lead[: rng.randint(len(lead) // 2, len(lead))])
            when = max(when, first + timedelta(hours=rng.uniform(0, 30)))
        else:
            title = " ".join(rng.choices(VOCABULARY, k=rng.randint(4, 8)))
            summary = " ".join(rng.choices(VOCABULARY, k=rng.randint(0, 25)))
            if rng.random() < 0.3:
                title = title.replace("a", "à").title()  # accents and case fold away
            originals.append((title, summary, when))
        items.append(StoryCandidate(f"g{n:05d}", when, title, summary))
    return items


def test_signatures_and_bands_are_datasketchs() -> None:
    texts = [(c.title, c.summary) for c in generated_items(300, seed=1)]
    texts += [("", ""), ("Algérie", ""), ("الجزائر تستدعي سفيرها", "من الرباط")]
    signatures = sign_texts(texts)
    for (title, summary), signature in zip(texts, signatures, strict=True):
        expected = _minhash(StoryCandidate("x", T0, title, summary)).hashvalues
        assert signature.tolist() == expected.tolist(), title
    layout = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    assert (layout.b, layout.r) == (BANDS, ROWS)


@pytest.mark.parametrize("seed", [2, 3])
def test_in_memory_matches_the_oracle(seed: int) -> None:
    items = generated_items(2500, seed)
    everything = oracle(items, [])
    assert cluster_stories(items, []) == everything
    assert 200 < len(set(everything.values())) < 2000  # stories of several items, not all
    known = [(c, everything[c.id]) for c in items[:1200]]
    assert cluster_stories(items[1200:], known) == oracle(items[1200:], known)


def test_ties_go_to_the_neighbour_published_first_then_the_lowest_id() -> None:
    text = ("Algeria recalls its ambassador from Rabat", "Algiers said on Tuesday.")

    def at(item: str, hours: float) -> StoryCandidate:
        return StoryCandidate(item, T0 + timedelta(hours=hours), *text)

    known = [(at("k2", 0), "b"), (at("k1", 1), "a")]
    assert cluster_stories([at("p", 2)], known) == {"p": "b"}  # k2 was published first
    known = [(at("k2", 0), "b"), (at("k1", 0), "a")]
    assert cluster_stories([at("p", 2)], known) == {"p": "a"}  # same time: the lower id
    assert oracle([at("p", 2)], known) == {"p": "a"}
    known = [(at("k3", 5), "a"), (at("k2", 3), "b"), (at("k1", 0), "a")]
    assert cluster_stories([at("p", 6)], known) == {"p": "a"}  # k1, not the later k3


# ---- in the database -----------------------------------------------------------------


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks, neighbour blocks and pair batches far smaller than the items, so every
    boundary is crossed many times."""
    monkeypatch.setattr(stories, "CHUNK_ITEMS", 97)
    monkeypatch.setattr(stories, "_BLOCK_ROWS", 61)
    monkeypatch.setattr(stories, "_PAIRS", 256)
    monkeypatch.setattr(stories, "_EQUAL_ROWS", 50)
    monkeypatch.setattr(stories, "_PART_ITEMS", 23)


def _insert(db_path: Path, items: Sequence[StoryCandidate]) -> None:
    db = open_database(db_path)
    with transaction(db):
        feed = db.execute("SELECT min(id) FROM feeds").fetchone()[0]
        db.conn.executemany(
            """INSERT INTO items (id, feed_id, url, guid, title, summary, published, fetched)
               VALUES (?, ?, NULL, NULL, ?, ?, ?, ?)""",
            [(c.id, feed, c.title, c.summary, to_iso(c.published), to_iso(c.published))
             for c in items],
        )  # fmt: skip
    db.conn.close()


def _clustered(db_path: Path) -> dict[str, str]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(  # of the items still stored
            "SELECT item_id, story_id FROM story_items JOIN items ON items.id = item_id"
        ).fetchall()
    return dict(rows)


def _known(db_path: Path) -> list[tuple[StoryCandidate, str]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            """SELECT i.id, i.published, i.title, i.summary, si.story_id FROM items i
               JOIN story_items si ON si.item_id = i.id"""
        ).fetchall()
    return [(StoryCandidate(r[0], datetime.fromisoformat(r[1]), r[2], r[3]), r[4]) for r in rows]


def _refresh(db_path: Path) -> None:
    db = open_database(db_path)
    refresh_aggregates(db)
    db.conn.close()


def _refresh_and_check(db_path: Path, pending: Sequence[StoryCandidate]) -> dict[str, str]:
    known = _known(db_path)
    _insert(db_path, pending)
    _refresh(db_path)
    clustered = _clustered(db_path)
    expected = oracle(pending, known)
    assert {c.id: clustered[c.id] for c in pending} == expected
    assert len(clustered) == len(known) + len(pending)
    return expected


def _refreshes(items: Sequence[StoryCandidate], seed: int) -> Iterator[list[StoryCandidate]]:
    """Items in four arrivals, roughly in time order, a tenth held back to arrive late
    (published before items clustered already)."""
    rng = random.Random(seed)
    late = [c for c in items if rng.random() < 0.1]
    late_ids = {c.id for c in late}
    on_time = [c for c in items if c.id not in late_ids]
    step = len(on_time) // 4 + 1
    for n in range(4):
        arrival = on_time[n * step : (n + 1) * step]
        if n:
            arrival += late[(n - 1) * len(late) // 3 : n * len(late) // 3]
        yield arrival


@pytest.mark.usefixtures("small_steps")
def test_refreshes_match_the_oracle(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    items = generated_items(2000, seed=4)
    joined_late = 0
    for arrival in _refreshes(items, seed=4):
        before = set(_clustered(db_path))
        assigned = _refresh_and_check(db_path, arrival)
        joined_late += sum(story in before for story in assigned.values())
    assert joined_late > 20  # late items did join stories of earlier refreshes
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 2000
        assert conn.execute("SELECT count(*) FROM story_bands").fetchone()[0] > 2000


def test_one_refresh_of_many_chunks_matches_one_of_one_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = generated_items(1500, seed=5)
    results = []
    for chunk in (10_000, 50):
        monkeypatch.setattr(stories, "CHUNK_ITEMS", chunk)
        db_path = build_database(tmp_path / f"c{chunk}.db", [], refresh=False)
        _refresh_and_check(db_path, items)
        results.append(_clustered(db_path))
    assert results[0] == results[1]


WIRE = "Algeria recalls its ambassador from Rabat"
WIRE_LEAD = "Algiers said on Tuesday it was recalling its envoy."


def _wire(item: str, hours: float, title: str = WIRE, summary: str = WIRE_LEAD) -> StoryCandidate:
    return StoryCandidate(item, T0 + timedelta(hours=hours), title, summary)


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM story_signatures",  # clustered before signatures were stored
        "UPDATE story_signatures SET signature = x'0001'",  # a truncated blob
        "UPDATE story_signatures SET published = '1999-01-01T00:00:00Z'",  # a stale copy
    ],
)
def test_missing_or_damaged_signatures_are_computed_again(tmp_path: Path, damage: str) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("a1", 0), _wire("b1", 1, "Gas pipeline talks", "")])
    with sqlite3.connect(db_path) as conn:
        conn.execute(damage)
    assigned = _refresh_and_check(db_path, [_wire("a2", 2)])
    assert assigned == {"a2": "a1"}
    with sqlite3.connect(db_path) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM story_signatures WHERE length(signature) = 256"
                " AND published >= '2024'"
            ).fetchone()[0]
            == 3
        )


def test_items_clustered_before_the_migration_are_met(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("a1", 0), _wire("b1", 1, "Gas pipeline talks", "")])
    with sqlite3.connect(db_path) as conn:  # back to the schema before signatures
        for trigger in ("au", "au_published", "ad"):
            conn.execute(f"DROP TRIGGER story_signatures_{trigger}")
        conn.execute("DROP TABLE story_signatures")
        conn.execute("DROP TABLE story_bands")
        before = [m.__name__ for m in MIGRATIONS].index("_story_signatures")
        conn.execute(f"PRAGMA user_version = {before}")
    open_database(db_path).conn.close()  # migrates
    assert _refresh_and_check(db_path, [_wire("a2", 2)]) == {"a2": "a1"}


def test_signatures_follow_edits_and_deletions(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("a1", 0), _wire("b1", 1, "Gas pipeline talks resume")])
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        # the feed corrects b1's headline: its old signature must not be used
        conn.execute("UPDATE items SET title = 'Drones deal signed in Rabat' WHERE id = 'b1'")
        conn.execute("DELETE FROM items WHERE id = 'a1'")
        signed = {r[0] for r in conn.execute("SELECT item_id FROM story_signatures")}
    assert signed == set()  # both signatures dropped by the triggers
    assigned = _refresh_and_check(
        db_path,
        [_wire("a2", 2), _wire("b2", 3, "Gas pipeline talks resume"),
         _wire("b3", 4, "Drones deal signed in Rabat")],
    )  # fmt: skip
    assert assigned == {"a2": "a2", "b2": "b2", "b3": "b1"}


def test_a_signature_left_by_a_deleted_item_is_no_candidate(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("a1", 0)])
    with sqlite3.connect(db_path) as conn:  # deleted behind the trigger's back
        conn.execute("DROP TRIGGER story_signatures_ad")
        conn.execute("DELETE FROM items WHERE id = 'a1'")
    assert _refresh_and_check(db_path, [_wire("a2", 1)]) == {"a2": "a2"}


def test_empty_texts_and_the_window(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    empty = [_wire("e1", 0, "", ""), _wire("e2", 5, "", ""), _wire("e3", 30, "", "")]
    assigned = _refresh_and_check(db_path, empty)
    assert assigned == {"e1": "e1", "e2": "e1", "e3": "e3"}
    # a late item between the two: equally similar to both stories, e1 is first
    assert _refresh_and_check(db_path, [_wire("e4", 20, "", "")]) == {"e4": "e1"}


@pytest.mark.usefixtures("small_steps")
def test_many_copies_of_one_text(tmp_path: Path) -> None:
    """Every copy is a candidate of every later one: pairs kept one per story."""
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    copies = [_wire(f"c{n:03d}", n * 0.2) for n in range(300)]  # 60 hours of copies
    copies += [_wire(f"e{n:03d}", n * 0.3, "", "") for n in range(100)]
    _refresh_and_check(db_path, copies[::3])
    assigned = _refresh_and_check(db_path, copies[1::3] + copies[2::3])
    assert len(set(assigned.values())) > 3  # the window cut the copies into stories


def test_the_window_is_inclusive_and_counts_from_the_first_item(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    day = STORY_WINDOW / timedelta(hours=1)
    second = 1 / 3600
    assigned = _refresh_and_check(
        db_path, [_wire("a1", 0), _wire("a2", 20), _wire("a3", day), _wire("a4", day + second)]
    )
    assert assigned == {"a1": "a1", "a2": "a1", "a3": "a1", "a4": "a4"}


def test_a_late_item_moves_the_start_from_the_next_refresh_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stories, "CHUNK_ITEMS", 1)  # the late item is stored before p
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("k1", 0)])
    late_and_after = [_wire("late", -20), _wire("p", 10)]
    assert _refresh_and_check(db_path, late_and_after) == {"late": "k1", "p": "k1"}
    # the story now begins with the late item, 30 hours before q
    assert _refresh_and_check(db_path, [_wire("q", 10.5)]) == {"q": "q"}


def test_nothing_pending_writes_nothing(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _refresh_and_check(db_path, [_wire("a1", 0)])
    db = open_database(db_path)
    assert list(stories.cluster_pending(db)) == []
    db.conn.close()


def test_a_locked_database_is_a_storage_error(tmp_path: Path) -> None:
    db_path = build_database(tmp_path / "s.db", [], refresh=False)
    _insert(db_path, [_wire("a1", 0)])
    db = open_database(db_path)
    db.conn.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="cannot refresh the aggregates"):
            refresh_aggregates(db)
    finally:
        other.execute("ROLLBACK")
        other.close()
    refresh_aggregates(db)
    assert _clustered(db_path) == {"a1": "a1"}
    db.conn.close()
