"""Indicators (daily series, baselines, spikes) and the read queries behind them.

Table-driven with small counts and gaps; the queries run on real SQLite
files built by ``tests.dbfactory``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from indicators import (
    SEEDED_DYADS,
    BaselineSettings,
    DailyPoint,
    Dyad,
    PeriodPoint,
    aggregate,
    baseline_of,
    compare_windows,
    detect_spikes,
    fill_daily,
    load_daily_series,
    period_start,
    robust_spread,
    rolling_baseline,
)
from model import StorageError
from storage.db import open_database_readonly
from storage.queries import (
    DyadDayTotal,
    ItemFilter,
    feed_status,
    fts_query,
    get_item,
    list_category_day_totals,
    list_dyad_day_totals,
    list_feed_health,
    list_item_tags,
    list_items,
    list_tag_counts,
    list_tag_matches,
    summarise_items,
)
from tests.dbfactory import (
    GAZETTE,
    SPIKE_DAY,
    ItemSpec,
    build_database,
    build_sample_database,
)

D = date(2024, 3, 1)
MA_DZ = Dyad("morocco", "algeria")


def day(n: int) -> date:
    return D + timedelta(days=n)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def points(values: list[float]) -> list[DailyPoint]:
    """Daily points from ``D`` on with the given net values (as escalation or de-escalation)."""
    return [DailyPoint(day(n), int(v != 0), max(v, 0.0), min(v, 0.0)) for n, v in enumerate(values)]


# --- dyads -----------------------------------------------------------------------------------


def test_seeded_dyads_in_order() -> None:
    assert [d.id for d in SEEDED_DYADS] == [
        "morocco-algeria",
        "morocco-polisario",
        "morocco-israel",
        "algeria-polisario",
        "israel-palestine",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("morocco-algeria", Dyad("morocco", "algeria")),
        (" western_sahara-united_nations ", Dyad("western_sahara", "united_nations")),
    ],
)
def test_dyad_parse(text: str, expected: Dyad) -> None:
    assert Dyad.parse(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["morocco", "morocco-", "-algeria", "morocco-morocco", "a-b-c"])
def test_dyad_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Dyad.parse(text)


# --- daily series ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "start", "end", "expected"),
    [
        ("no rows: all zeros", [], 0, 2, [(0, 0, 0), (0, 0, 0), (0, 0, 0)]),
        (
            "gap filled with zeros",
            [(0, 1, 5, 0), (2, 2, 10, -5)],
            0,
            2,
            [(1, 5, 0), (0, 0, 0), (2, 10, -5)],
        ),
        (
            "rows outside the period ignored",
            [(-1, 9, 9, 0), (1, 1, 7, 0), (3, 9, 9, 0)],
            0,
            1,
            [
                (0, 0, 0),
                (1, 7, 0),
            ],
        ),
        ("one-day period", [(0, 3, 21, -4)], 0, 0, [(3, 21, -4)]),
    ],
)
def test_fill_daily(
    name: str,
    rows: list[tuple[int, int, float, float]],
    start: int,
    end: int,
    expected: list[tuple[int, float, float]],
) -> None:
    totals = [DyadDayTotal("morocco", "algeria", day(n), i, up, down) for n, i, up, down in rows]
    totals.append(DyadDayTotal("israel", "palestine", day(0), 4, 40, 0))  # another dyad
    series = fill_daily(totals, [MA_DZ], day(start), day(end))
    got = series[MA_DZ]
    assert [p.day for p in got] == [day(n) for n in range(start, end + 1)], name
    assert [(p.items, p.escalation, p.deescalation) for p in got] == expected, name


def test_daily_point_measures() -> None:
    p = DailyPoint(D, 3, 15.0, -5.0)
    assert (p.net, p.measure("net"), p.measure("items")) == (10.0, 10.0, 3.0)
    assert (p.measure("escalation"), p.measure("deescalation")) == (15.0, -5.0)


@pytest.mark.parametrize(
    ("granularity", "given", "expected"),
    [
        ("day", date(2024, 5, 22), date(2024, 5, 22)),
        ("week", date(2024, 5, 22), date(2024, 5, 20)),  # a Wednesday → its Monday
        ("week", date(2024, 5, 20), date(2024, 5, 20)),
        ("week", date(2024, 1, 2), date(2024, 1, 1)),
        ("week", date(2023, 1, 1), date(2022, 12, 26)),  # a Sunday → Monday of the year before
        ("month", date(2024, 2, 29), date(2024, 2, 1)),
    ],
)
def test_period_start(granularity: str, given: date, expected: date) -> None:
    assert period_start(given, granularity) == expected  # type: ignore[arg-type]


def test_aggregate_weeks_with_partial_edges() -> None:
    # 2024-03-01 is a Friday: 3 days in its week, then a full week, then 1 day
    series = points([5, 0, -4] + [0] * 6 + [10] + [7])
    weeks = aggregate(series, "week")
    assert weeks == (
        PeriodPoint(date(2024, 2, 26), 3, 2, 5.0, -4.0),
        PeriodPoint(date(2024, 3, 4), 7, 1, 10.0, 0.0),
        PeriodPoint(date(2024, 3, 11), 1, 1, 7.0, 0.0),
    )
    assert weeks[0].net == 1.0
    months = aggregate(series, "month")
    assert [(m.start, m.days, m.net) for m in months] == [(date(2024, 3, 1), 11, 18.0)]
    assert aggregate([], "month") == ()


# --- baselines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "window", "expected", "spread", "upper"),
    [
        ("varied: 1.4826 × MAD", [1, 2, 3, 4, 100], 3, 1.4826 * 1, 3 + 2 * 1.4826),
        ("mostly equal: mean AD fallback, top at the max", [0, 0, 0, 0, 10], 0, 1.2533 * 2, 10),
        ("mostly equal: band above the max", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0, 0.5, 1.0),
        ("all equal: the floor", [4, 4, 4, 4], 4, 0.5, 5),
        ("busy and varied: max ignored", [10, 12, 8, 11, 9, 10, 40], 10, 1.4826, 10 + 2 * 1.4826),
    ],
)
def test_baseline_of(
    name: str, window: list[float], expected: float, spread: float, upper: float
) -> None:
    settings = BaselineSettings(window=10, min_samples=4, threshold=2.0, min_spread=0.5)
    base = baseline_of(window, settings)
    assert base is not None, name
    assert base.expected == expected, name
    assert base.spread == pytest.approx(spread), name
    assert base.upper == pytest.approx(upper), name
    assert base.lower == pytest.approx(expected - 2 * spread), name
    assert base.samples == len(window)


def test_robust_spread_ignores_one_outlier() -> None:
    calm = robust_spread([1, 2, 3, 4, 5, 6, 7], 4, floor=0.1)
    stormy = robust_spread([1, 2, 3, 4, 5, 6, 700], 4, floor=0.1)
    assert calm == stormy == pytest.approx(1.4826 * 2)


def test_rolling_baseline_warm_up_and_trailing_window() -> None:
    settings = BaselineSettings(window=3, min_samples=2, threshold=3.0, min_spread=1.0)
    bases = rolling_baseline([1, 2, 3, 10, 4], settings)
    assert bases[0] is None and bases[1] is None  # 0 and 1 earlier days: warming up
    assert [b.expected for b in bases[2:] if b] == [1.5, 2, 3]  # [1,2], [1,2,3], [2,3,10]
    assert [b.samples for b in bases[2:] if b] == [2, 3, 3]


@pytest.mark.parametrize(
    ("name", "values", "spike_days"),
    [
        ("flat zeros: nothing", [0] * 40, []),
        ("warm-up hides an early burst", [0, 0, 50] + [0] * 10, []),
        ("a burst after warm-up", [0] * 20 + [12], [20]),
        ("below the floor: one accusation is not a spike", [0] * 20 + [5], []),
        ("just above the floor band (7.5)", [0] * 20 + [7.5, 8], [21]),
        ("busy series: same size burst is ordinary", [10, 12, 8, 11, 9, 10, 12] * 3 + [14], []),
        ("busy series: a real burst", [10, 12, 8, 11, 9, 10, 12] * 3 + [40], [21]),
        ("two-day burst on a busy series: both days spike", [5, 6, 4] * 7 + [30, 30], [21, 22]),
        ("two-day burst on a quiet series: the first day", [0] * 20 + [20, 20], [20]),
        ("a quiet series growing: each new high", [0] * 20 + [10, 0, 15], [20, 22]),
        ("a clash every ten days is the usual", ([0] * 9 + [10]) * 5, []),
        ("one day bigger than any before", ([0] * 9 + [10]) * 3 + [0] * 5 + [25], [35]),
        ("resumption after a quiet month", [10, 0] * 10 + [0] * 28 + [10], [48]),
        ("gaps and sparse events", ([0] * 6 + [5]) * 4 + [0, 30], [29]),
        ("de-escalation never spikes upward", [0] * 20 + [-30], []),
    ],
)
def test_detect_spikes(name: str, values: list[float], spike_days: list[int]) -> None:
    settings = BaselineSettings(window=28, min_samples=14)
    spikes = detect_spikes(points(values), "net", settings)
    assert [s.day for s in spikes] == [day(n) for n in spike_days], name
    # the bands passed in (as the Overview does, having drawn them) change nothing
    bands = rolling_baseline(values, settings)
    assert detect_spikes(points(values), "net", settings, bands=bands) == spikes
    for s in spikes:
        assert s.observed > s.upper > s.expected
        assert s.score > settings.threshold


def test_spike_reports_observed_against_expected() -> None:
    (spike,) = detect_spikes(points([2, 0] * 10 + [21]))
    assert (spike.observed, spike.expected) == (21.0, 1.0)
    # MAD 1 → spread 1.4826 → below the 2.5 floor: upper = 1 + 3 × 2.5
    assert spike.upper == 8.5
    assert spike.score == pytest.approx(8.0)


def test_spikes_on_item_counts() -> None:
    series = [DailyPoint(day(n), 1) for n in range(20)] + [DailyPoint(day(20), 5)]
    settings = BaselineSettings(min_spread=1.0)
    assert [s.day for s in detect_spikes(series, "items", settings)] == [day(20)]


@pytest.mark.parametrize(
    ("name", "values", "days", "current", "expected", "windows"),
    [
        ("no history", [1, 2, 3], 3, 6, None, 0),
        ("shorter than a window", [1, 2], 3, 3, None, 0),
        ("one earlier window", [1, 1, 1, 2, 2, 2], 3, 6, 3, 1),
        ("partial earlier window ignored", [9, 1, 1, 1, 2, 2, 2], 3, 6, 3, 1),
        ("median of earlier windows", [0, 0, 0, 30, 0, 0, 3, 0, 0, 1, 1, 1], 3, 3, 3, 3),
        ("history capped", [100] * 3 + [1] * 6 + [5] * 3, 3, 15, 3, 2),
    ],
)
def test_compare_windows(
    name: str,
    values: list[float],
    days: int,
    current: float,
    expected: float | None,
    windows: int,
) -> None:
    got = compare_windows(points(values), "net", days=days, history=2 if "capped" in name else 6)
    assert (got.current, got.expected, got.windows) == (current, expected, windows), name


def test_baseline_settings_validated() -> None:
    with pytest.raises(ValueError):
        BaselineSettings(window=10, min_samples=11)
    with pytest.raises(ValueError):
        BaselineSettings(min_spread=0)


# --- on a real database ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_database(tmp_path_factory.mktemp("sample") / "tensionwatch.db")


def test_daily_series_from_the_database(sample_db: Path) -> None:
    db = open_database_readonly(sample_db)
    series = load_daily_series(db, SEEDED_DYADS, date(2024, 1, 1), date(2024, 6, 30))
    assert set(series) == set(SEEDED_DYADS)
    assert all(len(s) == 182 for s in series.values())  # 2024 is a leap year
    by_day = {p.day: p for p in series[MA_DZ]}
    assert (by_day[SPIKE_DAY].items, by_day[SPIKE_DAY].net) == (3, 36.0)
    # the dyad is symmetric: the reversed pair finds the same items
    reverse = load_daily_series(db, [Dyad("algeria", "morocco")], SPIKE_DAY, SPIKE_DAY)
    assert reverse[Dyad("algeria", "morocco")][0].net == 36.0
    spikes = detect_spikes(series[MA_DZ])
    assert [s.day for s in spikes] == [SPIKE_DAY]
    # weekly sums equal the items' own indexes
    items = list_items(db, ItemFilter(dyad=("morocco", "algeria"), limit=1000))
    assert sum(p.net for p in aggregate(series[MA_DZ], "week")) == sum(i.index for i in items)


def test_items_on_both_sides_of_midnight_go_to_their_utc_day(tmp_path: Path) -> None:
    path = build_database(
        tmp_path / "t.db",
        [
            ItemSpec(
                "late", "2024-03-01T23:59:59Z", ("morocco", "algeria"), ("military_violence",)
            ),
            ItemSpec("early", "2024-03-02T00:00:00Z", ("morocco", "algeria"), ("economic_energy",)),
        ],
    )
    db = open_database_readonly(path)
    got = load_daily_series(db, [MA_DZ], day(0), day(1))[MA_DZ]
    assert [(p.items, p.net) for p in got] == [(1, 10.0), (1, -2.0)]
    assert load_daily_series(db, [MA_DZ], day(1), day(1))[MA_DZ][0].net == -2.0


def test_dyad_day_totals_split_escalation_and_deescalation(tmp_path: Path) -> None:
    specs = [
        ItemSpec(
            "a",
            "2024-03-01",
            ("morocco", "algeria"),
            ("accusation_threat", "mediation_deescalation"),
        ),
        ItemSpec("b", "2024-03-01", ("morocco", "algeria", "polisario"), ("economic_energy",)),
        ItemSpec("c", "2024-03-01", ("morocco", "algeria"), ()),  # counted, weighs nothing
        ItemSpec("d", "2024-03-01", ("morocco",), ("military_violence",)),  # not the dyad
    ]
    db = open_database_readonly(build_database(tmp_path / "t.db", specs))
    rows = list_dyad_day_totals(
        db, [("morocco", "algeria"), ("algeria", "polisario")], utc("2024-03-01"), utc("2024-03-02")
    )
    assert rows == [
        DyadDayTotal("algeria", "polisario", day(0), 1, 0.0, -2.0),
        DyadDayTotal("morocco", "algeria", day(0), 3, 5.0, -7.0),
    ]
    assert list_dyad_day_totals(db, [], utc("2024-03-01"), utc("2024-03-02")) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", None),
        ("   ", None),
        ("Morocco", '"Morocco"'),
        ("cuts ties", '"cuts" "ties"'),
        ("alg*", '"alg"*'),
        ('say "hello', '"say" "hello"'),
        ("NOT AND OR", '"NOT" "AND" "OR"'),
        ("title:x -y", '"title:x" "-y"'),
        ('"', None),
        ("*", None),
    ],
)
def test_fts_query(typed: str, expected: str | None) -> None:
    assert fts_query(typed) == expected


@pytest.fixture(scope="module")
def filters_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ma_dz = ("algeria", "morocco")
    rupture = ("diplomatic_rupture",)
    return build_database(
        tmp_path_factory.mktemp("filters") / "t.db",
        [
            ItemSpec("Algeria cuts ties with Morocco", "2024-05-20T08:00:00Z", ma_dz, rupture),
            ItemSpec(
                "Algeria closes airspace to Moroccan aircraft",
                "2024-05-20T09:00:00Z",
                ma_dz,
                rupture,
            ),
            ItemSpec(
                "Morocco and Israel sign drones deal",
                "2024-04-01",
                ("morocco", "israel"),
                ("defence_cooperation",),
            ),
            ItemSpec(
                "Le gaz de l'Algérie", "2024-06-01", ("algeria",), ("economic_energy",), lang="fr"
            ),
        ],
    )


@pytest.mark.parametrize(
    ("name", "spec", "expected_titles"),
    [
        (
            "search one word",
            ItemFilter(search="airspace"),
            ["Algeria closes airspace to Moroccan aircraft"],
        ),
        ("search is accent- and case-blind", ItemFilter(search="ALGERIE"), ["Le gaz de l'Algérie"]),
        (
            "search prefix",
            ItemFilter(search="airsp*"),
            ["Algeria closes airspace to Moroccan aircraft"],
        ),
        ("search all words", ItemFilter(search="cuts airspace"), []),
        ("search syntax is text", ItemFilter(search='") OR ("'), []),
        ("dyad", ItemFilter(dyad=("morocco", "israel")), ["Morocco and Israel sign drones deal"]),
        ("actors: all of them", ItemFilter(actors=("algeria", "israel")), []),
        (
            "categories: any of them",
            ItemFilter(categories=("economic_energy", "defence_cooperation")),
            [
                "Le gaz de l'Algérie",
                "Morocco and Israel sign drones deal",
            ],
        ),
        (
            "since/until",
            ItemFilter(since=utc("2024-05-20T08:30:00"), until=utc("2024-05-21")),
            [
                "Algeria closes airspace to Moroccan aircraft",
            ],
        ),
        ("limit keeps the newest", ItemFilter(limit=1), ["Le gaz de l'Algérie"]),
    ],
)
def test_list_items_filters(
    filters_db: Path, name: str, spec: ItemFilter, expected_titles: list[str]
) -> None:
    db = open_database_readonly(filters_db)
    assert [item.title for item in list_items(db, spec)] == expected_titles, name


def test_item_rows_tags_and_evidence(tmp_path: Path) -> None:
    specs = [
        ItemSpec(
            "Polisario claims drone strike",
            "2024-03-01",
            ("polisario", "morocco"),
            ("military_violence", "accusation_threat"),
            summary="The Polisario accuses Morocco.",
            also_in=(GAZETTE,),
        ),
        ItemSpec("Odd link", "2024-03-02", (), (), url="javascript:alert(1)"),
    ]
    db = open_database_readonly(build_database(tmp_path / "t.db", specs))
    odd, strike = list_items(db, ItemFilter())
    assert odd.url is None  # never a clickable javascript: link
    assert (odd.actors, odd.categories, odd.index) == ((), (), 0.0)
    assert strike.url is not None and strike.url.startswith("https://")
    assert (strike.outlet, strike.outlets) == ("Maghreb Monitor", 2)
    assert strike.actors == ("morocco", "polisario")
    assert strike.categories == ("accusation_threat", "military_violence")
    assert strike.index == 15.0
    assert get_item(db, strike.id) == strike
    assert get_item(db, "nope") is None
    tags = list_item_tags(db, strike.id)
    assert [(t.kind, t.tag, t.weight) for t in tags] == [
        ("actor", "morocco", 0.0),
        ("actor", "polisario", 0.0),
        ("category", "military_violence", 10.0),
        ("category", "accusation_threat", 5.0),
    ]
    matches = {(m.tag, m.field, m.text) for m in list_tag_matches(db, strike.id)}
    assert ("military_violence", "title", "drone strike") in matches
    assert ("accusation_threat", "summary", "accuses") in matches
    for m in list_tag_matches(db, strike.id):
        source = strike.title if m.field == "title" else strike.summary
        assert source[m.start : m.end] == m.text


def test_summary_counts_and_categories(sample_db: Path) -> None:
    db = open_database_readonly(sample_db)
    summary = summarise_items(db)
    assert summary.items > 100
    assert summary.last_published == utc("2024-06-30T12:00:00")
    actors = [t.tag for t in list_tag_counts(db, "actor")]
    assert {"morocco", "algeria", "israel", "polisario", "palestine"} <= set(actors)
    cats = list_category_day_totals(
        db, utc("2024-05-20"), utc("2024-05-21"), ("morocco", "algeria")
    )
    assert {(c.category, c.items, c.weight) for c in cats} == {
        ("diplomatic_rupture", 3, 21.0),
        ("accusation_threat", 3, 15.0),
    }


def test_empty_database_summary(tmp_path: Path) -> None:
    db = open_database_readonly(build_database(tmp_path / "t.db", [], []))
    assert summarise_items(db).items == 0
    assert summarise_items(db).last_published is None
    assert list_items(db, ItemFilter(search="x")) == []
    assert list_feed_health(db, utc("2024-01-01")) == []


@pytest.mark.parametrize(
    ("enabled", "reason", "errors", "last_ok", "expected"),
    [
        (False, None, 0, "2024-01-01T00:00:00Z", "disabled"),
        (True, "HTTP 410 Gone", 3, None, "disabled"),
        (True, None, 2, "2024-01-01T00:00:00Z", "error"),
        (True, None, 1, None, "error"),
        (True, None, 0, "2024-01-01T00:00:00Z", "ok"),
        (True, None, 0, None, "never"),
    ],
)
def test_feed_status(
    enabled: bool, reason: str | None, errors: int, last_ok: str | None, expected: str
) -> None:
    assert (
        feed_status(enabled=enabled, disabled_reason=reason, error_count=errors, last_ok=last_ok)
        == expected
    )


def test_feed_health(sample_db: Path) -> None:
    db = open_database_readonly(sample_db)
    health = {f.name: f for f in list_feed_health(db, utc("2024-06-30T12:00:00"))}
    assert {name: f.status for name, f in health.items()} == {
        "Atlas Daily (archive)": "ok",
        "Fresh Outlet": "never",
        "Gone Times": "disabled",
        "Maghreb Monitor": "ok",
        "Sahel Gazette": "error",
    }
    gazette = health["Sahel Gazette"]
    assert (gazette.error_count, gazette.error_since) == (4, utc("2024-06-21T08:00:00"))
    assert gazette.items > gazette.items_recent > 0
    assert health["Fresh Outlet"].items == 0


def test_unreadable_database_is_a_storage_error(tmp_path: Path) -> None:
    path = build_database(tmp_path / "t.db", [ItemSpec("x", "2024-01-01")])
    db = open_database_readonly(path)
    db.conn.execute("PRAGMA query_only = OFF")
    path.write_bytes(b"not a database" * 1000)  # damaged under the open connection
    with pytest.raises(StorageError) as caught:
        summarise_items(db)
    assert str(path) in str(caught.value)
