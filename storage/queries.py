"""The read queries behind the indicators and the dashboard, one function per query.

Every function takes an open ``sqlite_utils.Database`` (read-only is
enough) and returns frozen rows, never cursors or dicts. Times go in as
aware datetimes and come back as UTC datetimes; an item's day is the UTC
date of its ``published`` time (stored as ``YYYY-MM-DDTHH:MM:SSZ``, so its
first ten characters are the day).

Conventions the callers rely on:

- The escalation index of an item is the sum of the weights of its
  ``category`` tags; its *escalation* is the sum of the positive weights and
  its *de-escalation* the sum of the negative ones.
- An item concerns the dyad ``(a, b)`` when it has actor tags for both.
- Only ``http(s)`` item links are returned; anything else comes back as
  ``None`` so that no caller can make it clickable by mistake.
- SQLite failures that are not bugs (locked, unreadable, corrupt) become
  ``StorageError`` naming the database file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from model import StorageError
from storage.db import from_iso, to_iso

if TYPE_CHECKING:
    import sqlite_utils

FEED_STATUSES = ("ok", "error", "disabled", "never")


@dataclass(frozen=True)
class ItemSummary:
    """How many items there are and the span of their published times."""

    items: int
    first_published: datetime | None
    last_published: datetime | None
    last_fetched: datetime | None


@dataclass(frozen=True)
class DyadDayTotal:
    """One dyad on one UTC day: its items and the sums of their category weights."""

    a: str
    b: str
    day: date
    items: int
    escalation: float  # sum of positive weights, >= 0
    deescalation: float  # sum of negative weights, <= 0


@dataclass(frozen=True)
class CategoryDayTotal:
    """One category on one UTC day: items carrying it and the sum of its weight."""

    category: str
    day: date
    items: int
    weight: float


@dataclass(frozen=True)
class TagCount:
    tag: str
    items: int


@dataclass(frozen=True)
class ItemFilter:
    """What the Items page asks for. Empty fields do not filter.

    ``actors``: the item has every one of them; ``categories``: the item has
    at least one of them; ``search``: words (all of them) in the title or
    summary, a trailing ``*`` making a word a prefix.
    """

    dyad: tuple[str, str] | None = None
    actors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    search: str = ""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200
    dyads: tuple[tuple[str, str], ...] = ()  # the item concerns at least one of them
    feeds: tuple[str, ...] = ()  # feed names (or URLs of unnamed feeds) that carried it
    langs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # the country of a feed that carried it
    ids: tuple[str, ...] = ()  # exactly these items (a drill-down)
    stories_only: bool = False  # one row per story: its first item


@dataclass(frozen=True)
class ItemRow:
    id: str
    published: datetime
    fetched: datetime
    outlet: str  # the name of the feed that first brought it (its URL if unnamed)
    outlets: int  # how many feeds carried it
    url: str | None  # http(s) only
    title: str
    summary: str
    lang: str
    actors: tuple[str, ...]
    categories: tuple[str, ...]
    index: float  # sum of the category weights
    story_id: str = ""  # "" until the aggregates have clustered it
    story_items: int = 1  # items in its story
    story_outlets: int = 1  # distinct feeds that carried any item of its story


@dataclass(frozen=True)
class TagRow:
    """One of an item's current labels."""

    kind: str  # "actor" or "category"
    tag: str
    weight: float
    rules_version: str


@dataclass(frozen=True)
class TagMatchRow:
    """One rule firing on one span of one field: the evidence behind a label."""

    kind: str
    tag: str
    rule: str
    field: str
    start: int
    end: int
    text: str
    rules_version: str


@dataclass(frozen=True)
class FeedHealth:
    """A feed as the health table shows it. ``status`` is one of ``FEED_STATUSES``."""

    name: str
    url: str
    country: str
    lang: str
    enabled: bool
    disabled_reason: str | None
    status: str
    last_polled: datetime | None
    last_ok: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_since: datetime | None
    last_warning: str | None
    error_count: int
    items: int
    items_recent: int  # items published within the ``recent`` window
    next_due: datetime | None = None  # when the collector polls it next
    median_ms: float | None = None  # median duration of its last ``FETCH_SAMPLE`` polls


def _database_file(db: sqlite_utils.Database) -> str:
    try:
        for row in db.conn.execute("PRAGMA database_list"):
            if row[1] == "main":
                return str(row[2]) or ":memory:"
    except sqlite3.Error:
        pass  # only used to word an error message about this very database
    return "(database)"


def _select(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Run one read query; failures of the file (not of our SQL) become ``StorageError``."""
    try:
        return list(db.conn.execute(sql, list(params)).fetchall())
    except sqlite3.OperationalError as e:
        raise StorageError(_database_file(db), f"cannot read the database: {e}") from e
    except sqlite3.DatabaseError as e:
        raise StorageError(_database_file(db), f"the database is damaged: {e}") from e


def _time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def _http_only(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _split_tags(joined: str | None) -> tuple[str, ...]:
    return tuple(sorted(joined.split(","))) if joined else ()


def feed_status(
    *, enabled: bool, disabled_reason: str | None, error_count: int, last_ok: object
) -> str:
    """``disabled`` beats ``error`` beats ``ok``; a feed never polled successfully is ``never``."""
    if not enabled or disabled_reason:
        return "disabled"
    if error_count > 0:
        return "error"
    if last_ok:
        return "ok"
    return "never"


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must appear.

    Each word is quoted (so ``"``, ``-``, ``AND``, ``:`` and friends are
    plain text, never FTS5 syntax); a trailing ``*`` is kept as a prefix
    search. Returns ``None`` when nothing searchable is left.
    """
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', "")
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms) or None


def summarise_items(db: sqlite_utils.Database) -> ItemSummary:
    """Count and span of the items. Each part is its own index look-up (one statement with
    count, min and max together scans every row); ``last_fetched`` is when the newest
    stored item was fetched (items are stored as they are fetched)."""
    rows = _select(
        db,
        """SELECT (SELECT count(*) FROM items), (SELECT min(published) FROM items),
                  (SELECT max(published) FROM items),
                  (SELECT fetched FROM items ORDER BY rowid DESC LIMIT 1)""",
    )
    count, first, last, fetched = rows[0]
    return ItemSummary(int(count), _time(first), _time(last), _time(fetched))


def get_published_span(db: sqlite_utils.Database) -> tuple[datetime | None, datetime | None]:
    """The oldest and the newest item's publication times: two index look-ups, no count."""
    first, last = _select(
        db, "SELECT (SELECT min(published) FROM items), (SELECT max(published) FROM items)"
    )[0]
    return _time(first), _time(last)


def get_last_published(db: sqlite_utils.Database) -> datetime | None:
    """The newest item's publication time: one index look-up (``summarise_items`` also
    counts every item, a scan of the index that takes 10 ms at a million items)."""
    return _time(_select(db, "SELECT max(published) FROM items")[0][0])


_ITEM_SCORES = """
    SELECT item_id,
           sum(CASE WHEN weight > 0 THEN weight ELSE 0 END) AS escalation,
           sum(CASE WHEN weight < 0 THEN weight ELSE 0 END) AS deescalation
    FROM item_tags WHERE kind = 'category' GROUP BY item_id
"""


def list_dyad_day_totals(
    db: sqlite_utils.Database,
    dyads: Sequence[tuple[str, str]],
    since: datetime,
    until: datetime,
) -> list[DyadDayTotal]:
    """Per dyad and UTC day with at least one item: item count, escalation, de-escalation.

    Items published in ``[since, until)``; days without items are absent
    (the indicators fill them with zeros).
    """
    if not dyads:
        return []
    values = ", ".join("(?, ?)" for _ in dyads)
    params: list[Any] = [tag for pair in dyads for tag in pair]
    params += [to_iso(since), to_iso(until)]
    rows = _select(
        db,
        f"""
        WITH dyads(a, b) AS (VALUES {values}),
             scores AS ({_ITEM_SCORES})
        SELECT d.a, d.b, substr(i.published, 1, 10) AS day, count(*),
               coalesce(sum(s.escalation), 0), coalesce(sum(s.deescalation), 0)
        FROM dyads d
        JOIN item_tags ta ON ta.kind = 'actor' AND ta.tag = d.a
        JOIN item_tags tb ON tb.kind = 'actor' AND tb.tag = d.b AND tb.item_id = ta.item_id
        JOIN items i ON i.id = ta.item_id
        LEFT JOIN scores s ON s.item_id = i.id
        WHERE i.published >= ? AND i.published < ?
        GROUP BY d.a, d.b, day
        ORDER BY d.a, d.b, day
        """,
        params,
    )
    return [
        DyadDayTotal(a, b, date.fromisoformat(day), int(n), float(up), float(down))
        for a, b, day, n, up, down in rows
    ]


def list_category_day_totals(
    db: sqlite_utils.Database,
    since: datetime,
    until: datetime,
    dyad: tuple[str, str] | None = None,
) -> list[CategoryDayTotal]:
    """Per category and UTC day: items carrying it and its summed weight (optionally one dyad)."""
    params: list[Any] = [to_iso(since), to_iso(until)]
    dyad_clause = ""
    if dyad is not None:
        dyad_clause = """
          AND EXISTS (SELECT 1 FROM item_tags x WHERE x.item_id = i.id
                      AND x.kind = 'actor' AND x.tag = ?)
          AND EXISTS (SELECT 1 FROM item_tags y WHERE y.item_id = i.id
                      AND y.kind = 'actor' AND y.tag = ?)"""
        params += list(dyad)
    rows = _select(
        db,
        f"""
        SELECT t.tag, substr(i.published, 1, 10) AS day, count(*), coalesce(sum(t.weight), 0)
        FROM item_tags t JOIN items i ON i.id = t.item_id
        WHERE t.kind = 'category' AND i.published >= ? AND i.published < ? {dyad_clause}
        GROUP BY t.tag, day
        ORDER BY day, t.tag
        """,
        params,
    )
    return [
        CategoryDayTotal(tag, date.fromisoformat(day), int(n), float(w)) for tag, day, n, w in rows
    ]


def list_tag_counts(db: sqlite_utils.Database, kind: str) -> list[TagCount]:
    """Every tag of ``kind`` in use, most items first."""
    rows = _select(
        db,
        "SELECT tag, count(*) AS n FROM item_tags WHERE kind = ? GROUP BY tag ORDER BY n DESC, tag",
        [kind],
    )
    return [TagCount(tag, int(n)) for tag, n in rows]


_ITEM_COLUMNS = """
    i.id, i.published, i.fetched, coalesce(nullif(f.name, ''), f.url, ''),
    (SELECT count(*) FROM item_sources s WHERE s.item_id = i.id),
    i.url, i.title, i.summary, i.lang,
    (SELECT group_concat(tag, ',') FROM item_tags t WHERE t.item_id = i.id AND t.kind = 'actor'),
    (SELECT group_concat(tag, ',') FROM item_tags t
     WHERE t.item_id = i.id AND t.kind = 'category'),
    (SELECT coalesce(sum(weight), 0) FROM item_tags t
     WHERE t.item_id = i.id AND t.kind = 'category'),
    coalesce(si.story_id, ''), coalesce(st.items, 1),
    coalesce(st.outlets, (SELECT count(*) FROM item_sources s WHERE s.item_id = i.id))
"""
_ITEM_FROM = """
    items i LEFT JOIN feeds f ON f.id = i.feed_id
    LEFT JOIN story_items si ON si.item_id = i.id
    LEFT JOIN stories st ON st.id = si.story_id
"""


def _item_row(row: Sequence[Any]) -> ItemRow:
    return ItemRow(
        id=row[0],
        published=from_iso(row[1]),
        fetched=from_iso(row[2]),
        outlet=row[3],
        outlets=int(row[4]),
        url=_http_only(row[5]),
        title=row[6],
        summary=row[7],
        lang=row[8],
        actors=_split_tags(row[9]),
        categories=_split_tags(row[10]),
        index=float(row[11]),
        story_id=row[12],
        story_items=int(row[13]),
        story_outlets=int(row[14]),
    )


def list_items(db: sqlite_utils.Database, spec: ItemFilter) -> list[ItemRow]:
    """The newest items matching ``spec`` (see ``ItemFilter``), newest first."""
    joins: list[str] = []
    where: list[str] = []
    params: list[Any] = []
    match = fts_query(spec.search)
    if match is not None:
        joins.append("JOIN items_fts ON items_fts.rowid = i.rowid")
        where.append("items_fts MATCH ?")
        params.append(match)
    required_actors = list(spec.actors) + (list(spec.dyad) if spec.dyad else [])
    for actor in dict.fromkeys(required_actors):
        where.append(
            "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id "
            "AND t.kind = 'actor' AND t.tag = ?)"
        )
        params.append(actor)
    if spec.categories:
        marks = ", ".join("?" for _ in spec.categories)
        where.append(
            "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id "
            f"AND t.kind = 'category' AND t.tag IN ({marks}))"
        )
        params += list(spec.categories)
    if spec.dyads:
        where.append(
            "("
            + " OR ".join(
                "(EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id "
                "AND t.kind = 'actor' AND t.tag = ?) AND EXISTS (SELECT 1 FROM item_tags t "
                "WHERE t.item_id = i.id AND t.kind = 'actor' AND t.tag = ?))"
                for _ in spec.dyads
            )
            + ")"
        )
        params += [actor for pair in spec.dyads for actor in pair]
    if spec.langs:
        where.append(f"i.lang IN ({', '.join('?' for _ in spec.langs)})")
        params += list(spec.langs)
    if spec.countries:
        marks = ", ".join("?" for _ in spec.countries)
        where.append(
            "EXISTS (SELECT 1 FROM item_sources s JOIN feeds g ON g.id = s.feed_id "
            f"WHERE s.item_id = i.id AND g.country IN ({marks}))"
        )
        params += list(spec.countries)
    if spec.feeds:
        marks = ", ".join("?" for _ in spec.feeds)
        where.append(
            "EXISTS (SELECT 1 FROM item_sources s JOIN feeds g ON g.id = s.feed_id "
            f"WHERE s.item_id = i.id AND coalesce(nullif(g.name, ''), g.url) IN ({marks}))"
        )
        params += list(spec.feeds)
    if spec.ids:
        where.append(f"i.id IN ({', '.join('?' for _ in spec.ids)})")
        params += list(spec.ids)
    if spec.stories_only:
        where.append("(si.story_id IS NULL OR si.story_id = i.id)")
    if spec.since is not None:
        where.append("i.published >= ?")
        params.append(to_iso(spec.since))
    if spec.until is not None:
        where.append("i.published < ?")
        params.append(to_iso(spec.until))
    where_sql = ("WHERE " + " AND ".join(where)) if where else ""
    rows = _select(
        db,
        f"""
        SELECT {_ITEM_COLUMNS}
        FROM {_ITEM_FROM}
        {" ".join(joins)}
        {where_sql}
        ORDER BY i.published DESC, i.id
        LIMIT ?
        """,
        [*params, max(0, spec.limit)],
    )
    return [_item_row(row) for row in rows]


def get_item(db: sqlite_utils.Database, item_id: str) -> ItemRow | None:
    rows = _select(
        db,
        f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE i.id = ?",
        [item_id],
    )
    return _item_row(rows[0]) if rows else None


def list_item_tags(db: sqlite_utils.Database, item_id: str) -> list[TagRow]:
    """An item's labels: actors first, then categories by weight (most escalating first)."""
    rows = _select(
        db,
        """SELECT kind, tag, weight, rules_version FROM item_tags WHERE item_id = ?
           ORDER BY kind, weight DESC, tag""",
        [item_id],
    )
    return [TagRow(kind, tag, float(weight), version) for kind, tag, weight, version in rows]


def list_tag_matches(db: sqlite_utils.Database, item_id: str) -> list[TagMatchRow]:
    """The evidence behind an item's labels, in reading order (title before summary)."""
    rows = _select(
        db,
        """SELECT kind, tag, rule, field, start, "end", text, rules_version
           FROM tag_matches WHERE item_id = ?
           ORDER BY kind, tag, CASE field WHEN 'title' THEN 0 ELSE 1 END, field, start, id""",
        [item_id],
    )
    return [
        TagMatchRow(kind, tag, rule, field, int(start), int(end), text, version)
        for kind, tag, rule, field, start, end, text, version in rows
    ]


FETCH_SAMPLE = 50  # polls behind a feed's median response time


def _median_duration(db: sqlite_utils.Database, feed_id: int) -> float | None:
    durations = [
        int(ms)
        for (ms,) in _select(
            db,
            "SELECT duration_ms FROM fetch_log WHERE feed_id = ? ORDER BY started DESC LIMIT ?",
            [feed_id, FETCH_SAMPLE],
        )
    ]
    return float(median(durations)) if durations else None


def list_feed_health(
    db: sqlite_utils.Database, now: datetime, recent: timedelta = timedelta(days=7)
) -> list[FeedHealth]:
    """Every feed with its status, errors and item counts, by name.

    ``items`` counts the items the feed carried (``item_sources``), also
    those first seen on another feed; ``items_recent`` those among them
    published since ``now - recent``.
    """
    rows = _select(
        db,
        """
        SELECT f.name, f.url, f.country, f.lang, f.enabled, f.disabled_reason, f.last_polled,
               f.last_ok, f.last_error, f.last_error_at, f.error_since, f.last_warning,
               f.error_count,
               coalesce(t.n, 0), coalesce(r.n, 0), f.next_due, f.id
        FROM feeds f
        LEFT JOIN (SELECT feed_id, count(*) AS n FROM item_sources GROUP BY feed_id) t
             ON t.feed_id = f.id
        LEFT JOIN (SELECT s.feed_id, count(*) AS n FROM items i
                   CROSS JOIN item_sources s ON s.item_id = i.id
                   WHERE i.published >= ? GROUP BY s.feed_id) r
             ON r.feed_id = f.id
        ORDER BY lower(coalesce(nullif(f.name, ''), f.url)), f.id
        """,
        [to_iso(now - recent)],
    )
    health = []
    for row in rows:
        enabled, reason, errors, last_ok = bool(row[4]), row[5], int(row[12]), row[7]
        health.append(
            FeedHealth(
                name=row[0],
                url=row[1],
                country=row[2],
                lang=row[3],
                enabled=enabled,
                disabled_reason=reason,
                status=feed_status(
                    enabled=enabled, disabled_reason=reason, error_count=errors, last_ok=last_ok
                ),
                last_polled=_time(row[6]),
                last_ok=_time(last_ok),
                last_error=row[8],
                last_error_at=_time(row[9]),
                error_since=_time(row[10]),
                last_warning=row[11],
                error_count=errors,
                items=int(row[13]),
                items_recent=int(row[14]),
                next_due=_time(row[15]),
                median_ms=_median_duration(db, int(row[16])),
            )
        )
    return health


@dataclass(frozen=True)
class DataVersion:
    """Changes whenever the dashboard's answers may change: its caches' key."""

    aggregates: int  # agg_state.version, bumped by every refresh that changed something
    items: int  # the newest item's rowid
    fetches: int  # the newest fetch_log id
    pending: int  # items stored but not yet in the aggregates


def get_data_version(db: sqlite_utils.Database) -> DataVersion:
    """Four index look-ups: cheap enough to run on every page view."""
    row = _select(
        db,
        """SELECT (SELECT version FROM agg_state WHERE id = 1),
                  (SELECT coalesce(max(rowid), 0) FROM items),
                  (SELECT coalesce(max(id), 0) FROM fetch_log),
                  (SELECT count(*) FROM (SELECT 1 FROM agg_pending LIMIT 1000))""",
    )[0]
    return DataVersion(int(row[0] or 0), int(row[1]), int(row[2]), int(row[3]))


@dataclass(frozen=True)
class AggregateDay:
    """One row of ``agg_daily`` (see ``storage.aggregates`` for what each kind counts)."""

    kind: str
    key: str
    day: date
    items: int
    escalation: float
    deescalation: float


def list_aggregate_days(
    db: sqlite_utils.Database,
    unit: str,
    kind: str,
    first: date,
    last: date,
    keys: Sequence[str] | None = None,
    prefixes: Sequence[str] = (),
) -> list[AggregateDay]:
    """Pre-aggregated days ``first``..``last`` (inclusive) of ``kind`` per ``unit``
    (``item`` or ``story``): the given ``keys``, keys starting with one of ``prefixes``,
    or (both empty/None) every key."""
    where = ["unit = ?", "kind = ?", "day >= ?", "day <= ?"]
    params: list[Any] = [unit, kind, first.isoformat(), last.isoformat()]
    alternatives = []
    if keys is not None:
        alternatives.append(f"key IN ({', '.join('?' for _ in keys)})" if keys else "0")
        params += list(keys)
    for prefix in prefixes:
        alternatives.append("(key >= ? AND key < ?)")
        params += [prefix, prefix + "\uffff"]
    if alternatives:
        where.append("(" + " OR ".join(alternatives) + ")")
    rows = _select(
        db,
        f"""SELECT kind, key, day, items, escalation, deescalation FROM agg_daily
            WHERE {" AND ".join(where)} ORDER BY key, day""",
        params,
    )
    return [
        AggregateDay(k, key, date.fromisoformat(day), int(n), float(up), float(down))
        for k, key, day, n, up, down in rows
    ]


def list_aggregate_parts(
    db: sqlite_utils.Database,
    unit: str,
    kind: str,
    owners: Sequence[str],
    first: date,
    last: date,
) -> list[AggregateDay]:
    """Days ``first``..``last`` of a breakdown ``kind`` (``dyad_category``, ``dyad_country``,
    ``actor_category``: keys ``owner|part``) summed over ``owners``, one row per part and
    day (``key`` is the part). Summed in SQL: a year of ten categories for five dyads is
    3,650 rows back instead of 18,250."""
    if not owners:
        return []
    # one primary-key range per owner (an OR of ranges would send SQLite to the day index)
    each = """SELECT key, day, items, escalation, deescalation FROM agg_daily
              WHERE unit = ? AND kind = ? AND key >= ? AND key < ? AND day >= ? AND day <= ?"""
    params: list[Any] = []
    for owner in owners:
        params += [unit, kind, f"{owner}|", f"{owner}|\uffff", first.isoformat(), last.isoformat()]
    rows = _select(
        db,
        f"""SELECT substr(key, instr(key, '|') + 1) AS part, day, sum(items),
                   sum(escalation), sum(deescalation)
            FROM ({" UNION ALL ".join(each for _ in owners)})
            GROUP BY part, day ORDER BY part, day""",
        params,
    )
    return [
        AggregateDay(kind, part, date.fromisoformat(day), int(n), float(up), float(down))
        for part, day, n, up, down in rows
    ]


# The first day of the period holding ``a.day``: the day, its week's Monday, its month's 1st
# (``indicators.period_start`` in SQL; "-6 days, then the next Monday" is that Monday).
PERIOD_START_SQL = {
    "day": "a.day",
    "week": "date(a.day, '-6 days', 'weekday 1')",
    "month": "substr(a.day, 1, 8) || '01'",
}


@dataclass(frozen=True)
class AggregatePeriod:
    """Days of ``agg_daily`` summed over a day, week (from Monday) or month."""

    key: str
    start: date  # the period's first day, which may fall before the first day asked for
    items: int
    escalation: float
    deescalation: float


def _periods_of(rows: Sequence[Any]) -> list[AggregatePeriod]:
    return [
        AggregatePeriod(str(key), date.fromisoformat(day), int(n), float(up), float(down))
        for key, day, n, up, down in rows
    ]


def list_aggregate_periods(
    db: sqlite_utils.Database,
    unit: str,
    kind: str,
    keys: Sequence[str],
    first: date,
    last: date,
    granularity: str,
) -> list[AggregatePeriod]:
    """Days ``first``..``last`` of the ``keys`` of ``kind`` summed per key and period
    (``granularity``: day, week or month); periods with no row are absent. Summed in
    SQL: a year of weeks is 53 rows back per key instead of 365."""
    if not keys:
        return []
    rows = _select(
        db,
        f"""SELECT a.key, {PERIOD_START_SQL[granularity]} AS p, sum(a.items),
                   sum(a.escalation), sum(a.deescalation)
            FROM agg_daily a
            WHERE a.unit = ? AND a.kind = ? AND a.key IN ({", ".join("?" for _ in keys)})
            AND a.day >= ? AND a.day <= ?
            GROUP BY a.key, p ORDER BY a.key, p""",
        [unit, kind, *keys, first.isoformat(), last.isoformat()],
    )
    return _periods_of(rows)


def list_aggregate_part_periods(
    db: sqlite_utils.Database,
    unit: str,
    kind: str,
    owners: Sequence[str],
    first: date,
    last: date,
    granularity: str,
) -> list[AggregatePeriod]:
    """``list_aggregate_parts`` summed per part and period instead of per part and day
    (``key`` is the part). The parts of each owner are found first, one primary-key seek
    each (a recursive skip over the keys ``owner|...``), so that every part is then read
    for the chosen days only: a range over ``owner|`` alone would read all its days."""
    if not owners:
        return []
    owner_rows = ", ".join(f"(?{n})" for n in range(5, 5 + len(owners)))
    rows = _select(
        db,
        f"""WITH RECURSIVE owners(owner) AS (VALUES {owner_rows}),
            parts(owner, key) AS (
                SELECT owner, (SELECT min(a.key) FROM agg_daily a
                               WHERE a.unit = ?1 AND a.kind = ?2 AND a.key >= owner || '|'
                               AND a.key < owner || '|' || char(65535)) FROM owners
                UNION ALL
                SELECT owner, (SELECT min(a.key) FROM agg_daily a
                               WHERE a.unit = ?1 AND a.kind = ?2 AND a.key > parts.key
                               AND a.key < parts.owner || '|' || char(65535)) FROM parts
                WHERE parts.key IS NOT NULL)
            SELECT substr(a.key, instr(a.key, '|') + 1) AS part,
                   {PERIOD_START_SQL[granularity]} AS p, sum(a.items), sum(a.escalation),
                   sum(a.deescalation)
            FROM parts CROSS JOIN agg_daily a
            ON a.unit = ?1 AND a.kind = ?2 AND a.key = parts.key AND a.day >= ?3 AND a.day <= ?4
            WHERE parts.key IS NOT NULL
            GROUP BY part, p ORDER BY part, p""",
        [unit, kind, first.isoformat(), last.isoformat(), *owners],
    )
    return _periods_of(rows)


@dataclass(frozen=True)
class StoryRow:
    """A story: its first item's title and time, how many items and outlets carried it."""

    id: str
    title: str
    first_published: datetime
    items: int
    outlets: int
    index: float  # the union of its items' category weights, summed


def list_top_stories(
    db: sqlite_utils.Database,
    dyad: tuple[str, str],
    since: datetime,
    until: datetime,
    limit: int = 3,
) -> list[StoryRow]:
    """The stories of a dyad that began in ``[since, until)``: most outlets, then highest
    escalation index, first. Stories are found through their day (indexed), then each
    member's tags by its id (``CROSS JOIN`` keeps SQLite from starting at the tag index):
    never a scan of every story or of every tag of a kind."""
    rows = _select(
        db,
        """
        WITH chosen AS (
            SELECT s.id, s.title, s.first_published, s.items, s.outlets FROM stories s
            WHERE s.day >= substr(?1, 1, 10) AND s.day <= substr(?2, 1, 10)
            AND s.first_published >= ?1 AND s.first_published < ?2
            AND EXISTS (SELECT 1 FROM story_items m WHERE m.story_id = s.id
                        AND EXISTS (SELECT 1 FROM item_tags ta WHERE ta.item_id = m.item_id
                                    AND ta.kind = 'actor' AND ta.tag = ?3)
                        AND EXISTS (SELECT 1 FROM item_tags tb WHERE tb.item_id = m.item_id
                                    AND tb.kind = 'actor' AND tb.tag = ?4))
        )
        SELECT c.id, c.title, c.first_published, c.items, c.outlets,
               (SELECT coalesce(sum(w), 0) FROM (
                    SELECT DISTINCT t.tag, t.weight AS w FROM story_items m
                    CROSS JOIN item_tags t ON t.item_id = m.item_id AND t.kind = 'category'
                    WHERE m.story_id = c.id)) AS idx
        FROM chosen c
        ORDER BY c.outlets DESC, idx DESC, c.first_published DESC
        LIMIT ?5
        """,
        [to_iso(since), to_iso(until), dyad[0], dyad[1], limit],
    )
    return [
        StoryRow(sid, title, from_iso(first), int(n), int(outlets), float(idx))
        for sid, title, first, n, outlets, idx in rows
    ]


def list_feed_names(db: sqlite_utils.Database) -> list[str]:
    """Every feed's display name (its URL when unnamed), alphabetically."""
    rows = _select(db, "SELECT DISTINCT coalesce(nullif(name, ''), url) AS n FROM feeds ORDER BY n")
    return [str(name) for (name,) in rows]


def list_languages(db: sqlite_utils.Database) -> list[str]:
    """Every item language in use (``""`` for unknown), alphabetically: one index step per
    language (``idx_items_lang``), however many items there are."""
    rows = _select(
        db,
        """WITH RECURSIVE langs(lang) AS (
               SELECT min(lang) FROM items
               UNION ALL
               SELECT (SELECT min(i.lang) FROM items i WHERE i.lang > langs.lang) FROM langs
               WHERE langs.lang IS NOT NULL)
           SELECT lang FROM langs WHERE lang IS NOT NULL""",
    )
    return [str(lang) for (lang,) in rows]


def list_aggregate_keys(db: sqlite_utils.Database, kind: str) -> list[TagCount]:
    """Every key of ``kind`` in the aggregates with its item count, most items first
    (an index range: cheaper than counting ``item_tags``)."""
    rows = _select(
        db,
        """SELECT key, sum(items) AS n FROM agg_daily WHERE unit = 'item' AND kind = ?
           GROUP BY key ORDER BY n DESC, key""",
        [kind],
    )
    return [TagCount(str(key), int(n)) for key, n in rows]


def get_alert_version(db: sqlite_utils.Database) -> str:
    """Changes whenever an alert fires or a delivery status moves: the Alerts page's cache
    key, apart from the data version so that alert deliveries never invalidate the charts."""
    row = _select(
        db,
        """SELECT (SELECT coalesce(max(id), 0) FROM alert_history),
                  (SELECT count(*) FROM alert_history WHERE held = 1),
                  (SELECT coalesce(max(updated), '') FROM alert_messages)""",
    )[0]
    return f"{row[0]}.{row[1]}.{row[2]}"
