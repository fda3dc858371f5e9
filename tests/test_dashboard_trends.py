"""The Trends loader sums days into periods in SQL: the same frames as summing daily series;
the hourly view reads only the items of its dyads: the same points as tallying them all.

``reference_trends`` is the loader as it was before (daily series from
``agg_daily``, filled and summed per period in Python); the loader today
asks SQLite for the period sums. Both run on real databases built by the
factory: its sample, and a denser one with stories carried by several
outlets in three countries. With the seeded weights (integers) every sum is
exact whatever its order, so the frames are equal to the last bit; with
weights such as 0.1 they agree to rounding.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from dashboard import queries
from indicators import (
    DailyPoint,
    Dyad,
    Granularity,
    Kind,
    Unit,
    aggregate,
    days_between,
    key_of,
    load_breakdown,
    load_breakdown_periods,
    load_breakdown_total,
    load_hourly,
    load_period_series,
    load_series,
    period_spans,
    period_start,
)
from storage.aggregates import list_facts, tally_facts
from tests.dbfactory import FeedRow, ItemSpec, build_database, sample_feeds, sample_items

ACTORS = ("morocco", "algeria", "polisario", "israel", "palestine", "western_sahara")
CATEGORIES = (
    "military_violence", "diplomatic_rupture", "accusation_threat", "sovereignty_dispute",
    "economic_energy", "normalisation_cooperation", "mediation_deescalation",
)  # fmt: skip
FEEDS = (
    FeedRow(url="https://ma.example/rss", name="Rabat Wire", country="MA"),
    FeedRow(url="https://dz.example/rss", name="Algiers Post", country="DZ"),
    FeedRow(url="https://fr.example/rss", name="Paris Desk", country="FR", lang="fr"),
    FeedRow(url="https://none.example/rss", name="Nowhere", country=""),
)


def dense_items(seed: int, weights: dict[str, float] | None = None) -> list[ItemSpec]:
    """300 items over 8 months: 1-3 actors, 0-3 categories, a third carried by other feeds."""
    rng = random.Random(seed)
    items = []
    for n in range(300):
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(240))
        feed = rng.choice(FEEDS).url
        items.append(
            ItemSpec(
                f"Story {n} {rng.choice(('accuses', 'meets', 'warns', 'signs'))} w{n}",
                f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
                tuple(rng.sample(ACTORS, rng.randint(1, 3))),
                tuple(rng.sample(CATEGORIES, rng.randint(0, 3))),
                feed=feed,
                also_in=tuple(f.url for f in FEEDS if f.url != feed and rng.random() < 0.15),
                weights=dict(weights or {}),
            )
        )
    return items


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("trends") / "sample.db"
    return str(build_database(path, sample_items(), sample_feeds()))


@pytest.fixture(scope="module")
def dense_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("trends") / "dense.db"
    return str(build_database(path, dense_items(7), FEEDS))


@pytest.fixture(scope="module")
def tenths_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    weights = {
        c: w for c, w in zip(CATEGORIES, (0.7, 0.3, 0.1, 0.2, -0.1, -0.3, -0.6), strict=True)
    }
    path = tmp_path_factory.mktemp("trends") / "tenths.db"
    return str(build_database(path, dense_items(11, weights), FEEDS))


def _sum_points(groups: list[tuple[DailyPoint, ...]], days: list[date]) -> list[DailyPoint]:
    return [
        DailyPoint(
            day,
            sum(g[n].items for g in groups),
            sum(g[n].escalation for g in groups),
            sum(g[n].deescalation for g in groups),
        )
        for n, day in enumerate(days)
    ]


def reference_trends(
    path: str,
    dyads: tuple[str, ...],
    actors: tuple[str, ...],
    categories: tuple[str, ...],
    start: date,
    end: date,
    granularity: Granularity,
    unit: Unit,
    normalised: bool,
) -> queries.Trends:
    """``load_trends`` before the periods were summed in SQL (its code, unchanged)."""
    periods = queries._periods
    pairs = [key_of(Dyad.parse(d)) for d in dyads]
    with queries.reading(path) as db:
        totals = load_series(db, "all", [""], start, end, unit)[""]
        days = [p.day for p in totals]
        named: list[tuple[str, tuple[DailyPoint, ...]]] = []
        for label, kind, key in [*((d, "dyad", k) for d, k in zip(dyads, pairs, strict=True)),
                                 *((a, "actor", a) for a in actors)]:  # fmt: skip
            if categories:
                parts = load_breakdown(db, f"{kind}_category", key, start, end, unit)  # type: ignore[arg-type]
                chosen = [parts[c] for c in categories if c in parts]
                named.append((label, tuple(_sum_points(chosen, days))))
            else:
                named.append((label, load_series(db, kind, [key], start, end, unit)[key]))  # type: ignore[arg-type]
        if pairs:
            by_category = load_breakdown_total(db, "dyad_category", pairs, start, end, unit)
            by_country = load_breakdown_total(db, "dyad_country", pairs, start, end, unit)
        else:
            by_category = load_breakdown_total(db, "actor_category", actors, start, end, unit)
            by_country = {}
        if categories:
            by_category = {k: v for k, v in by_category.items() if k in categories}
    base = totals if normalised else None
    series_rows = [
        {"series": label, **row}
        for label, points in named
        for row in periods(points, granularity, base)
    ]
    category_rows = [
        {
            "category": name,
            **{k: v for k, v in row.items() if k in ("period", "start", "label", "items")},
            "weight": row["net"],
        }
        for name, points in sorted(by_category.items())
        for row in periods(points, granularity, base)
        if row["items"]
    ]
    country_rows = [
        {
            "country": name or "unknown",
            **{k: row[k] for k in ("period", "start", "label", "items", "net")},
        }
        for name, points in sorted(by_country.items())
        for row in periods(points, granularity, base)
        if row["items"]
    ]
    series_columns = [
        "series",
        "period",
        "start",
        "label",
        "days",
        "items",
        "escalation",
        "deescalation",
        "net",
    ]
    return queries.Trends(
        start,
        end,
        pd.DataFrame(series_rows, columns=series_columns),
        pd.DataFrame(
            category_rows, columns=["category", "period", "start", "label", "items", "weight"]
        ),
        pd.DataFrame(country_rows, columns=["country", "period", "start", "label", "items", "net"]),
    )


SELECTIONS: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    (("morocco-algeria", "morocco-polisario", "israel-palestine"), ("israel",), ()),
    (("algeria-morocco", "polisario-algeria"), (), ("accusation_threat", "military_violence")),
    ((), ("morocco", "palestine"), ()),
    ((), ("algeria",), ("sovereignty_dispute", "diplomatic_rupture", "economic_energy")),
    (("morocco-israel", "palestine-western_sahara"), ("polisario",), ("mediation_deescalation",)),
    (("morocco-algeria",), (), ("no_such_category",)),
]


def _compare(path: str, exact: bool, **kwargs: Any) -> None:
    new = queries.load_trends.__wrapped__(path, "v", **kwargs)  # type: ignore[attr-defined]
    old = reference_trends(path, **kwargs)
    for name in ("series", "categories", "countries"):
        pd.testing.assert_frame_equal(
            getattr(new, name), getattr(old, name), check_exact=exact, rtol=1e-12, obj=name
        )


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("unit", ["story", "item"])
@pytest.mark.parametrize("normalised", [False, True])
@pytest.mark.parametrize("selection", range(len(SELECTIONS)))
def test_trends_match_the_daily_computation(
    dense_db: str, granularity: Granularity, unit: Unit, normalised: bool, selection: int
) -> None:
    dyads, actors, categories = SELECTIONS[selection]
    # a Wednesday to a Tuesday mid-month: the first and last weeks and months are partial
    _compare(
        dense_db,
        exact=True,
        dyads=dyads,
        actors=actors,
        categories=categories,
        start=date(2024, 1, 10),
        end=date(2024, 7, 16),
        granularity=granularity,
        unit=unit,
        normalised=normalised,
    )


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("normalised", [False, True])
def test_trends_match_on_the_sample(
    sample_db: str, granularity: Granularity, normalised: bool
) -> None:
    for dyads, actors, categories in SELECTIONS:
        for unit in ("story", "item"):
            _compare(
                sample_db,
                exact=True,
                dyads=dyads,
                actors=actors,
                categories=categories,
                start=date(2023, 12, 30),  # before the first item: empty periods too
                end=date(2024, 6, 30),
                granularity=granularity,
                unit=unit,
                normalised=normalised,
            )


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_trends_agree_to_rounding_with_fractional_weights(
    tenths_db: str, granularity: Granularity
) -> None:
    for dyads, actors, categories in SELECTIONS:
        for normalised in (False, True):
            _compare(
                tenths_db,
                exact=False,
                dyads=dyads,
                actors=actors,
                categories=categories,
                start=date(2024, 1, 1),
                end=date(2024, 8, 31),
                granularity=granularity,
                unit="story",
                normalised=normalised,
            )


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_period_series_are_the_daily_series_aggregated(
    dense_db: str, granularity: Granularity
) -> None:
    start, end = date(2024, 2, 3), date(2024, 6, 29)
    keys = ["algeria-morocco", "israel-palestine", "morocco-polisario", "nobody-none"]
    with queries.reading(dense_db) as db:
        daily = load_series(db, "dyad", keys, start, end, "story")
        periods = load_period_series(db, "dyad", keys, start, end, granularity, "story")
        parts = load_breakdown_periods(db, "dyad_country", keys, start, end, granularity, "item")
        parts_daily = load_breakdown_total(db, "dyad_country", keys, start, end, "item")
    assert {k: aggregate(v, granularity) for k, v in daily.items()} == periods
    assert {k: aggregate(v, granularity) for k, v in parts_daily.items()} == parts
    assert set(parts) == {"DZ", "FR", "MA"}  # a feed with no country counts in none


def test_months_and_their_days(dense_db: str) -> None:
    trends = queries.load_trends.__wrapped__(  # type: ignore[attr-defined]
        dense_db, "v", ("morocco-algeria",), (), (), date(2024, 1, 1), date(2024, 3, 31), "month"
    )
    assert list(trends.series["start"]) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert list(trends.series["days"]) == [31, 29, 31]


@pytest.mark.parametrize("unit", ["story", "item"])
@pytest.mark.parametrize("kind", ["dyad", "actor"])
def test_hourly_reads_only_what_counts(dense_db: str, unit: Unit, kind: Kind) -> None:
    """``load_hourly`` reads only the items (stories) of the keys' actors: the same points
    as tallying every item of the week."""
    until = datetime(2024, 6, 12, 17, 30, tzinfo=UTC)
    keys = (
        ["algeria-morocco", "israel-palestine", "palestine-polisario"]
        if kind == "dyad"
        else ["morocco", "western_sahara"]
    )
    hours = 24 * 120  # four months: half the dense sample
    with queries.reading(dense_db) as db:
        series = load_hourly(db, kind, keys, until, hours, unit)
        end = until.replace(minute=0) + timedelta(hours=1)
        facts = list_facts(db, end - timedelta(hours=hours), end, unit)
    cells = tally_facts(facts, lambda t: t.strftime("%Y-%m-%dT%H"), frozenset({kind}))
    assert sum(p.items for points in series.values() for p in points) > 20
    for key, points in series.items():
        assert len(points) == hours
        for point in points:
            n, up, down = cells.get((kind, key, point.hour.strftime("%Y-%m-%dT%H")), (0, 0.0, 0.0))
            assert (point.items, point.escalation, point.deescalation) == (n, up, down)


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2024, 1, 10), date(2024, 7, 16)),
        (date(2024, 2, 29), date(2024, 2, 29)),
        (date(2023, 12, 25), date(2024, 3, 3)),  # a Monday to a Sunday
        (date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_period_spans_count_the_days_of_each_period(
    granularity: Granularity, start: date, end: date
) -> None:
    counted: dict[date, int] = {}
    for day in days_between(start, end):
        first = period_start(day, granularity)
        counted[first] = counted.get(first, 0) + 1
    spans = period_spans(start, end, granularity)
    assert spans == counted
    assert list(spans) == list(counted)
