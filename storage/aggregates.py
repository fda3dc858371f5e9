"""Stories and daily aggregates, kept up to date incrementally.

``refresh_aggregates(db)`` is what the collector calls after each poll and
after a retag (it writes; the dashboard never calls it). Triggers installed
by the schema note what changed since the last call: new items in
``agg_pending``, days whose items or tags changed in ``agg_dirty``. A call

1. clusters the pending items into **stories** (``storage.stories``:
   near-duplicates within ``STORY_WINDOW`` of each other, MinHash over the
   title and lead), marking the day of every story that gained an item;
2. recomputes ``agg_daily`` for the dirty days only, per item and per story
   (a story belongs to the UTC day of its first item and carries the union
   of its items' labels, so a wire story republished by ten outlets counts
   once, with its weights once);
3. bumps ``agg_state.version`` so that cached dashboard queries are stale.

It is idempotent (nothing pending: nothing done, version unchanged) and its
cost is proportional to what changed, not to the database.

What one row of ``agg_daily`` counts, per ``kind`` (``key``):

- ``all`` (``""``): every item (story) of the day, labelled or not — the
  denominator of the normalised series;
- ``actor`` (actor id), ``dyad`` (``a-b``, the two ids sorted),
  ``country`` (the outlet's country): items concerning it, with the sums of
  their positive (escalation) and negative (de-escalation) category weights;
- ``category`` (category id): items carrying it and that category's weight
  only; ``dyad_category`` (``a-b|category``) and ``actor_category``
  (``actor|category``) the same within a dyad or an actor;
- ``dyad_country`` (``a-b|CC``): a dyad's items by outlet country (an item,
  or a story, counts once in each country among the feeds that carried it).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from typing import TYPE_CHECKING, Any

from storage.db import from_iso, to_iso, transaction
from storage.stories import cluster_pending

if TYPE_CHECKING:  # imported by storage.db first, without pandas (see there)
    import sqlite_utils

UNITS = ("item", "story")
CHUNK_DAYS = 31  # dirty days recomputed per query: bounds memory on a full rebuild


@dataclass(frozen=True)
class Fact:
    """What one item (or one story) contributes to the aggregates."""

    id: str
    published: datetime
    actors: frozenset[str]
    categories: tuple[tuple[str, float], ...]  # (category, weight), one per category
    countries: frozenset[str]

    @property
    def escalation(self) -> float:
        return sum(w for _, w in self.categories if w > 0)

    @property
    def deescalation(self) -> float:
        return sum(w for _, w in self.categories if w < 0)


def dyad_key(a: str, b: str) -> str:
    """The aggregate key of a dyad: both actor ids, sorted (either order is the same items)."""
    return "-".join(sorted((a, b)))


Tally = dict[tuple[str, str, str], list[float]]  # (kind, key, bucket) -> [n, up, down]


def tally_facts(
    facts: Iterable[Fact], bucket_of: Any = None, kinds: frozenset[str] | None = None
) -> Tally:
    """Sum facts into (kind, key, bucket) cells; the bucket is the UTC day by default
    (``bucket_of(published) -> str`` for hours); ``kinds``: only those kinds' cells."""
    cells: Tally = defaultdict(lambda: [0.0, 0.0, 0.0])

    def add(kind: str, key: str, bucket: str, up: float, down: float) -> None:
        if kinds is not None and kind not in kinds:
            return
        cell = cells[(kind, key, bucket)]
        cell[0] += 1
        cell[1] += up
        cell[2] += down

    for fact in facts:
        bucket = bucket_of(fact.published) if bucket_of else fact.published.date().isoformat()
        up, down = fact.escalation, fact.deescalation
        add("all", "", bucket, up, down)
        pairs = [dyad_key(a, b) for a, b in combinations(sorted(fact.actors), 2)]
        for actor in fact.actors:
            add("actor", actor, bucket, up, down)
        for country in fact.countries:
            add("country", country, bucket, up, down)
        for pair in pairs:
            add("dyad", pair, bucket, up, down)
            for country in fact.countries:
                add("dyad_country", f"{pair}|{country}", bucket, up, down)
        for category, weight in fact.categories:
            cup, cdown = max(weight, 0.0), min(weight, 0.0)
            add("category", category, bucket, cup, cdown)
            for pair in pairs:
                add("dyad_category", f"{pair}|{category}", bucket, cup, cdown)
            for actor in fact.actors:
                add("actor_category", f"{actor}|{category}", bucket, cup, cdown)
    return cells


def merge_story(members: Sequence[Fact], story_id: str) -> Fact:
    """A story as one fact: its first item's time, the union of its members' labels."""
    weights: dict[str, float] = {}
    for member in members:
        for category, weight in member.categories:
            weights.setdefault(category, weight)
    return Fact(
        story_id,
        min(m.published for m in members),
        frozenset().union(*(m.actors for m in members)),
        tuple(sorted(weights.items())),
        frozenset().union(*(m.countries for m in members)),
    )


_FACT_COLUMNS = """
    i.id, i.published, coalesce(si.story_id, i.id),
    (SELECT group_concat(DISTINCT g.country) FROM item_sources s JOIN feeds g ON g.id = s.feed_id
     WHERE s.item_id = i.id AND g.country != ''),
    (SELECT group_concat(tag, ',') FROM item_tags t WHERE t.item_id = i.id AND t.kind = 'actor'),
    (SELECT group_concat(tag || '=' || weight, ',') FROM item_tags t
     WHERE t.item_id = i.id AND t.kind = 'category')
"""


def _facts(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, Fact]]:
    """(story id, fact) per row of ``_FACT_COLUMNS``."""
    for item_id, published, story, countries, actors, categories in rows:
        pairs = []
        for part in (categories or "").split(","):
            if part:
                name, _, weight = part.rpartition("=")
                pairs.append((name, float(weight)))
        yield (
            story,
            Fact(
                item_id,
                from_iso(published),
                frozenset(actors.split(",")) if actors else frozenset(),
                tuple(sorted(pairs)),
                frozenset(countries.split(",")) if countries else frozenset(),
            ),
        )


def _concerning_sql(
    unit: str, groups: Sequence[frozenset[str]], first: int
) -> tuple[str, list[str]]:
    """A condition on ``i`` (an item) or ``st`` (a story, through its items): tagged with
    every actor of at least one of ``groups``; parameters numbered from ``?first``."""
    alternatives, params = [], []
    for group in groups:
        tests = []
        for actor in sorted(group):
            params.append(actor)
            tag = f"t.kind = 'actor' AND t.tag = ?{first + len(params) - 1}"
            if unit == "item":
                tests.append(f"EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND {tag})")
            else:
                tests.append(
                    "EXISTS (SELECT 1 FROM story_items m CROSS JOIN item_tags t"
                    f" ON t.item_id = m.item_id AND {tag} WHERE m.story_id = st.id)"
                )
        alternatives.append("(" + " AND ".join(tests) + ")")
    return " OR ".join(alternatives), params


def list_facts(
    db: sqlite_utils.Database,
    since: datetime,
    until: datetime,
    unit: str = "item",
    concerning: Sequence[frozenset[str]] | None = None,
) -> list[Fact]:
    """Facts of the items (``unit="item"``) published in ``[since, until)``, or of the stories
    (``unit="story"``) whose first item was. ``concerning``: only the items (stories, on
    any of their items) tagged with every actor of one of these sets, e.g. a dyad's two;
    what the others would add to that dyad's (or actor's) cells is nothing."""
    return list(iter_facts(db, since, until, unit, concerning))


def iter_facts(
    db: sqlite_utils.Database,
    since: datetime,
    until: datetime,
    unit: str = "item",
    concerning: Sequence[frozenset[str]] | None = None,
) -> Iterator[Fact]:
    """``list_facts`` one at a time, in the same order: items as the query returns them
    (never all held at once), stories once every member row is read."""
    if unit == "item":
        sql = f"""SELECT {_FACT_COLUMNS} FROM items i
                  LEFT JOIN story_items si ON si.item_id = i.id
                  WHERE i.published >= ?1 AND i.published < ?2"""
    else:  # from the stories (through their indexed day) to their members, never every item
        sql = f"""SELECT {_FACT_COLUMNS} FROM stories st
                  CROSS JOIN story_items si ON si.story_id = st.id
                  CROSS JOIN items i ON i.id = si.item_id
                  WHERE st.day >= substr(?1, 1, 10) AND st.day <= substr(?2, 1, 10)
                  AND st.first_published >= ?1 AND st.first_published < ?2"""
    params = [to_iso(since), to_iso(until)]
    if concerning is not None:
        if not concerning:
            return
        condition, actors = _concerning_sql(unit, concerning, len(params) + 1)
        sql += f" AND ({condition})"
        params += actors
    rows = db.conn.execute(sql, params)
    if unit == "item":
        for _, fact in _facts(rows):
            yield fact
        return
    groups: dict[str, list[Fact]] = defaultdict(list)
    for story, fact in _facts(rows):
        groups[story].append(fact)
    for story, members in groups.items():
        yield merge_story(members, story)


def _cluster_pending(db: sqlite_utils.Database) -> int:
    """Put every pending item into a story (``storage.stories.cluster_pending``, a chunk
    of items at a time), marking the days of the stories that grew; return how many."""
    clustered = 0
    for assignments in cluster_pending(db):
        clustered += len(assignments)
        # every day holding a member of a changed story must be recomputed
        stories = sorted(set(assignments.values()) - set(assignments))
        for chunk in _chunks(stories, 500):
            marks = ", ".join("?" for _ in chunk)
            db.execute(
                f"""INSERT OR IGNORE INTO agg_dirty (day)
                    SELECT DISTINCT substr(i.published, 1, 10) FROM story_items si
                    JOIN items i ON i.id = si.item_id WHERE si.story_id IN ({marks})""",
                chunk,
            )
    db.execute("DELETE FROM agg_pending")
    return clustered


def _widen_dirty_days(db: sqlite_utils.Database) -> None:
    """Add the first day of every story with an item on a dirty day (its row lives there)."""
    db.execute(
        """INSERT OR IGNORE INTO agg_dirty (day)
           SELECT DISTINCT substr(s.first_published, 1, 10) FROM agg_dirty d
           JOIN items i ON i.published >= d.day AND i.published < d.day || 'U'
           JOIN story_items si ON si.item_id = i.id
           JOIN stories s ON s.id = si.story_id"""
    )


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _day_ranges(days: Sequence[str]) -> Iterator[tuple[date, date]]:
    """Consecutive runs of ``days`` (ISO dates, sorted), each at most ``CHUNK_DAYS`` long."""
    run: list[date] = []
    for text in days:
        day = date.fromisoformat(text)
        if run and (day - run[-1] != timedelta(days=1) or len(run) >= CHUNK_DAYS):
            yield run[0], run[-1]
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _rebuild_days(db: sqlite_utils.Database, first: date, last: date) -> None:
    since, until = _midnight(first), _midnight(last + timedelta(days=1))
    db.execute("DELETE FROM agg_daily WHERE day >= ? AND day <= ?", [str(first), str(last)])
    # a story's day may have moved (an earlier member arrived late): rewrite its row
    db.execute(
        """DELETE FROM stories WHERE id IN (
               SELECT si.story_id FROM story_items si JOIN items i ON i.id = si.item_id
               WHERE i.published >= ? AND i.published < ?)""",
        [to_iso(since), to_iso(until)],
    )
    db.execute(
        """INSERT OR REPLACE INTO stories (id, day, first_published, items, outlets, title)
           SELECT si.story_id, substr(min(i.published), 1, 10), min(i.published),
                  count(DISTINCT i.id),
                  (SELECT count(DISTINCT s.feed_id) FROM item_sources s
                   JOIN story_items m ON m.item_id = s.item_id WHERE m.story_id = si.story_id),
                  (SELECT x.title FROM story_items y JOIN items x ON x.id = y.item_id
                   WHERE y.story_id = si.story_id ORDER BY x.published, x.id LIMIT 1)
           FROM story_items si JOIN items i ON i.id = si.item_id
           WHERE si.story_id IN (
               SELECT m.story_id FROM story_items m JOIN items j ON j.id = m.item_id
               WHERE j.published >= ? AND j.published < ?)
           GROUP BY si.story_id""",
        [to_iso(since), to_iso(until)],
    )
    for unit in UNITS:
        cells = tally_facts(iter_facts(db, since, until, unit))
        db.conn.executemany(
            """INSERT INTO agg_daily (unit, kind, key, day, items, escalation, deescalation)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [
                (unit, kind, key, day, int(n), up, down)
                for (kind, key, day), (n, up, down) in cells.items()
                if str(first) <= day <= str(last)
            ],
        )


def refresh_aggregates(db: sqlite_utils.Database) -> None:
    """Bring stories and ``agg_daily`` up to date with what was stored since the last call.

    Cheap when nothing changed (two small reads), proportional to the changed days
    otherwise; safe to call again (and from one writer at a time: it takes the write lock).
    """
    try:
        with transaction(db):
            clustered = _cluster_pending(db)
            _widen_dirty_days(db)
            days = [row[0] for row in db.conn.execute("SELECT day FROM agg_dirty ORDER BY day")]
            if not days and not clustered:
                return
            for first, last in _day_ranges(days):
                _rebuild_days(db, first, last)
            db.execute("DELETE FROM agg_dirty")
            db.execute(
                "UPDATE agg_state SET version = version + 1, refreshed = ? WHERE id = 1",
                [to_iso(datetime.now(UTC))],
            )
    except sqlite3.OperationalError as e:
        from model import StorageError

        raise StorageError("(database)", f"cannot refresh the aggregates: {e}") from e
