"""Stories and aggregates: clustering, incremental refresh, idempotence, and the series read back.

Every case builds a real SQLite file with ``tests.dbfactory`` (the real
migrations and triggers) and checks the aggregates against what the raw
tags say.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from indicators import (
    SEEDED_DYADS,
    Dyad,
    key_of,
    load_breakdown,
    load_breakdown_total,
    load_daily_series,
    load_hourly,
    load_series,
    normalise,
)
from storage.aggregates import Fact, merge_story, refresh_aggregates, tally_facts
from storage.db import open_database, transaction
from storage.minhash import shingles
from storage.queries import (
    ItemFilter,
    get_data_version,
    list_aggregate_keys,
    list_items,
    list_top_stories,
)
from storage.stories import StoryCandidate, cluster_stories
from tests.dbfactory import (
    GAZETTE,
    ItemSpec,
    _insert_item,
    build_database,
    build_sample_database,
)

WIRE = "Algeria recalls its ambassador from Rabat after border incident"
WIRE_LEAD = "Algiers said on Tuesday it was recalling its envoy for consultations."
T0 = datetime(2024, 5, 20, 8, tzinfo=UTC)


def candidate(n: int, title: str, hours: float = 0, summary: str = WIRE_LEAD) -> StoryCandidate:
    return StoryCandidate(f"i{n}", T0 + timedelta(hours=hours), title, summary)


@pytest.mark.parametrize(
    ("name", "second", "same"),
    [
        ("identical copy an hour later", candidate(2, WIRE, 1), True),
        ("headline reworded a little", candidate(2, WIRE.replace("after", "following"), 3), True),
        ("accents and case differ", candidate(2, WIRE.upper(), 2), True),
        ("same text two days later", candidate(2, WIRE, 48), False),
        ("another story the same day", candidate(2, "Morocco and Israel sign a drones deal", 1,
                                                 "Rabat and Jerusalem agreed on a purchase."),
         False),
    ],
)  # fmt: skip
def test_cluster_pairs(name: str, second: StoryCandidate, same: bool) -> None:
    assigned = cluster_stories([candidate(1, WIRE), second], [])
    assert (assigned["i2"] == assigned["i1"]) is same, name
    assert assigned["i1"] == "i1"  # a story is named after its first item


def test_cluster_joins_known_story_and_never_chains() -> None:
    known = [(candidate(1, WIRE), "story-a")]
    assigned = cluster_stories([candidate(2, WIRE, 20), candidate(3, WIRE, 40)], known)
    assert assigned["i2"] == "story-a"
    assert assigned["i3"] == "i3"  # 40 h after the story began: a new story


def test_shingles_fold_and_pair() -> None:
    assert shingles("Algérie", "") == {"algerie"}
    assert shingles("A b", "c") == {"a b", "b c"}


def test_tally_and_merge() -> None:
    fact = Fact(
        "x",
        T0,
        frozenset({"morocco", "algeria", "polisario"}),
        (("accusation_threat", 5.0), ("mediation_deescalation", -5.0)),
        frozenset({"MA"}),
    )
    cells = tally_facts([fact])
    day = "2024-05-20"
    assert cells[("all", "", day)] == [1, 5.0, -5.0]
    assert cells[("dyad", "algeria-morocco", day)] == [1, 5.0, -5.0]
    assert cells[("dyad", "algeria-polisario", day)][0] == 1
    assert cells[("category", "accusation_threat", day)] == [1, 5.0, 0.0]
    assert cells[("dyad_category", "algeria-morocco|mediation_deescalation", day)] == [1, 0, -5]
    assert cells[("dyad_country", "algeria-morocco|MA", day)][0] == 1
    other = Fact("y", T0 - timedelta(hours=1), frozenset({"israel"}),
                 (("accusation_threat", 5.0),), frozenset({"FR"}))  # fmt: skip
    story = merge_story([fact, other], "s")
    assert story.published == other.published
    assert story.escalation == 5.0  # the shared category counts once
    assert story.countries == {"MA", "FR"}


def _wire_items() -> list[ItemSpec]:
    """One wire story carried by three outlets the same morning, and one other story."""
    copies = [
        ItemSpec(WIRE, "2024-05-20T08:00:00Z", ("algeria", "morocco"), ("diplomatic_rupture",),
                 summary=WIRE_LEAD, feed=feed)
        for feed in ("https://a.example/rss", "https://b.example/rss", GAZETTE)
    ]  # fmt: skip
    other = ItemSpec("Morocco condemns Algeria's decision", "2024-05-20T15:00:00Z",
                     ("algeria", "morocco"), ("accusation_threat",))  # fmt: skip
    return [*copies, other]


@pytest.fixture
def wire_db(tmp_path: Path) -> Path:
    return build_database(tmp_path / "wire.db", _wire_items())


def test_stories_count_once_items_every_copy(wire_db: Path) -> None:
    db = open_database(wire_db)
    day = date(2024, 5, 20)
    key = key_of(Dyad("morocco", "algeria"))
    items = load_series(db, "dyad", [key], day, day, unit="item")[key][0]
    stories = load_series(db, "dyad", [key], day, day, unit="story")[key][0]
    assert (items.items, items.escalation) == (4, 3 * 7 + 5)
    assert (stories.items, stories.escalation) == (2, 7 + 5)
    top = list_top_stories(db, ("morocco", "algeria"), T0 - timedelta(hours=8), T0 + timedelta(1))
    assert next((s.title, s.outlets, s.items) for s in top) == (WIRE, 3, 3)
    rows = list_items(db, ItemFilter(stories_only=True))
    assert sorted(r.story_outlets for r in rows) == [1, 3]


def test_refresh_is_incremental_and_idempotent(wire_db: Path) -> None:
    db = open_database(wire_db)
    before = get_data_version(db)
    refresh_aggregates(db)
    assert get_data_version(db) == before  # nothing new: nothing done
    late = ItemSpec(WIRE + " again", "2024-05-21T09:00:00Z", ("algeria", "morocco"),
                    ("military_violence",), summary=WIRE_LEAD)  # fmt: skip
    with transaction(db):
        feeds = {url: fid for fid, url in db.execute("SELECT id, url FROM feeds").fetchall()}
        _insert_item(db, late, feeds)
    pending = get_data_version(db)
    assert pending.pending == 1 and pending.items > before.items
    refresh_aggregates(db)
    after = get_data_version(db)
    assert after.aggregates == before.aggregates + 1 and after.pending == 0
    key = "algeria-morocco"
    series = load_series(db, "dyad", [key], date(2024, 5, 20), date(2024, 5, 21), "item")[key]
    assert [p.items for p in series] == [4, 1]
    # a retag (tags deleted and written again) marks the day and is picked up
    with transaction(db):
        db.execute("DELETE FROM item_tags WHERE item_id = ? AND kind = 'category'", [late.id])
    refresh_aggregates(db)
    series = load_series(db, "dyad", [key], date(2024, 5, 21), date(2024, 5, 21), "item")[key]
    assert (series[0].items, series[0].escalation) == (1, 0.0)


def test_aggregates_agree_with_raw_tags(tmp_path: Path) -> None:
    db = open_database(build_sample_database(tmp_path / "s.db"))
    start, end = date(2024, 1, 1), date(2024, 6, 30)
    raw = load_daily_series(db, SEEDED_DYADS, start, end)
    stored = load_series(db, "dyad", [key_of(d) for d in SEEDED_DYADS], start, end, "item")
    for dyad in SEEDED_DYADS:
        assert raw[dyad] == stored[key_of(dyad)], dyad
    assert {"morocco", "israel", "palestine"} == {
        k.tag for k in list_aggregate_keys(db, "actor")[:3]
    }
    by_category = load_breakdown(db, "dyad_category", "algeria-morocco", start, end, "item")
    assert set(by_category) == {"accusation_threat", "diplomatic_rupture"}
    by_country = load_breakdown(db, "dyad_country", "algeria-morocco", start, end, "item")
    assert set(by_country) == {"GB", "FR"}


@pytest.mark.parametrize("kind", ["dyad_category", "dyad_country"])
@pytest.mark.parametrize("unit", ["item", "story"])
def test_breakdown_total_is_the_sum_of_the_dyads(tmp_path: Path, kind: str, unit: str) -> None:
    db = open_database(build_sample_database(tmp_path / "s.db"))
    start, end = date(2024, 1, 1), date(2024, 6, 30)
    owners = [key_of(d) for d in SEEDED_DYADS]
    total = load_breakdown_total(db, kind, owners, start, end, unit)  # type: ignore[arg-type]
    expected: dict[str, list[tuple[int, float, float]]] = {}
    for owner in owners:
        for part, points in load_breakdown(db, kind, owner, start, end, unit).items():  # type: ignore[arg-type]
            sums = expected.setdefault(part, [(0, 0.0, 0.0)] * len(points))
            for n, p in enumerate(points):
                i, up, down = sums[n]
                sums[n] = (i + p.items, up + p.escalation, down + p.deescalation)
    assert set(total) == set(expected) and total
    for part, points in total.items():
        assert [(p.items, p.escalation, p.deescalation) for p in points] == expected[part], part
    assert load_breakdown_total(db, kind, [], start, end, unit) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "counts", "totals", "expected"),
    [
        ("half the day's items", [2], [4], [50.0]),
        ("nothing collected is zero, not an error", [0], [0], [0.0]),
        ("a quiet feed does not fake a fall", [1, 2], [10, 20], [10.0, 10.0]),
        ("gap between busy days", [3, 0, 3], [6, 0, 3], [50.0, 0.0, 100.0]),
    ],
)
def test_normalise(name: str, counts: list[int], totals: list[int], expected: list[float]) -> None:
    from indicators import DailyPoint

    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(len(counts))]
    points = [DailyPoint(d, c, 5.0 * c, -1.0 * c) for d, c in zip(days, counts, strict=True)]
    total_points = [DailyPoint(d, t) for d, t in zip(days, totals, strict=True)]
    result = normalise(points, total_points)
    assert [p.items for p in result] == expected, name
    assert [p.escalation for p in result] == [5 * e for e in expected]


def test_hourly_last_days(wire_db: Path) -> None:
    db = open_database(wire_db)
    series = load_hourly(db, "dyad", ["algeria-morocco"], datetime(2024, 5, 20, 23, tzinfo=UTC))
    points = series["algeria-morocco"]
    assert len(points) == 7 * 24
    busy = {p.hour.hour: p.items for p in points if p.items}
    assert busy == {8: 1, 15: 1}  # per story: the three copies at 08:00 are one
    items = load_hourly(db, "dyad", ["algeria-morocco"], T0 + timedelta(hours=15), unit="item")
    assert sum(p.items for p in items["algeria-morocco"]) == 4
