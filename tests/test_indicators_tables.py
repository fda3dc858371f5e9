"""More table-driven cases for the indicators: period bands, small counts, gaps, warm-up edges.

Each row is (name, input, expected), small enough to check by hand.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indicators import (
    ITEM_COUNT_BASELINE,
    Baseline,
    BaselineSettings,
    DailyPoint,
    Spike,
    aggregate,
    baseline_of,
    detect_spikes,
    fill_days,
    group_episodes,
    per_hundred,
    period_band,
    rolling_baseline,
)

D = date(2024, 3, 4)  # a Monday


def day(n: int) -> date:
    return D + timedelta(days=n)


def counts(values: list[int]) -> list[DailyPoint]:
    """Daily item counts from ``D`` on (no weights)."""
    return [DailyPoint(day(n), v) for n, v in enumerate(values)]


def base(expected: float, spread: float, samples: int = 28) -> Baseline:
    return Baseline(expected, spread, expected - 3 * spread, expected + 3 * spread, samples)


@pytest.mark.parametrize(
    ("name", "days", "expected", "spread", "upper"),
    [
        ("no day: no band", [], None, None, None),
        ("one day keeps its own band", [Baseline(0, 2.5, -7.5, 10, 20)], 0, 2.5, 10),
        ("a quiet week: 3 × 2.5 × √7 above zero", [base(0, 2.5)] * 7, 0, 2.5 * 7**0.5, 19.843),
        ("medians add up", [base(1, 3), base(2, 4)], 3, 5, 18),
        ("a month of floors", [base(0, 2.5)] * 30, 0, 2.5 * 30**0.5, 41.079),
    ],
)
def test_period_band(
    name: str,
    days: list[Baseline],
    expected: float | None,
    spread: float | None,
    upper: float | None,
) -> None:
    band = period_band(days)
    if expected is None:
        assert band is None, name
        return
    assert band is not None, name
    assert band.expected == pytest.approx(expected), name
    assert band.spread == pytest.approx(spread), name
    assert band.upper == pytest.approx(upper, abs=1e-3), name
    if len(days) > 1:
        assert band.lower == pytest.approx(2 * band.expected - band.upper), name


def test_period_band_samples_is_the_thinnest_day() -> None:
    band = period_band([base(0, 1, samples=28), base(0, 1, samples=15)])
    assert band is not None and band.samples == 15


@pytest.mark.parametrize(
    ("name", "values", "spike_days"),
    [
        ("one item a day is ordinary", [1] * 20 + [2], []),
        ("a quiet dyad's first report: 0 → 1 is within the floor", [0] * 20 + [1], []),
        ("0 → 4 items on a quiet dyad", [0] * 20 + [4], [20]),
        ("small counts with gaps: 3 is not new", [0, 0, 3, 0, 0, 0, 1] * 3 + [3], []),
        ("small counts with gaps: 5 is", [0, 0, 3, 0, 0, 0, 1] * 3 + [5], [21]),
        ("warm-up: 13 days before is too few", [0] * 13 + [9], []),
        ("warm-up: 14 days before is enough", [0] * 14 + [9], [14]),
    ],
)
def test_spikes_on_small_item_counts(name: str, values: list[int], spike_days: list[int]) -> None:
    spikes = detect_spikes(counts(values), "items", ITEM_COUNT_BASELINE)
    assert [s.day for s in spikes] == [day(n) for n in spike_days], name


@pytest.mark.parametrize(
    ("name", "window", "expected", "upper"),
    [
        ("all zeros: the floor", [0] * 14, 0, 3.0),
        ("one item in two weeks: the max is the top", [0] * 13 + [1], 0, 3.0),
        ("three items in two weeks: top raised to 4", [0] * 11 + [4, 1, 1], 0, 4.0),
        ("half zeros, half ones: MAD 0.5 under the floor of 1", [0, 1] * 7, 0.5, 3.5),
        ("busier: MAD 2 → 2.97 over the floor", [2, 6] * 7, 4, 4 + 3 * 1.4826 * 2),
    ],
)
def test_baseline_of_small_counts(
    name: str, window: list[float], expected: float, upper: float
) -> None:
    got = baseline_of(window, ITEM_COUNT_BASELINE)
    assert got is not None, name
    assert (got.expected, got.upper) == (pytest.approx(expected), pytest.approx(upper)), name


def test_rolling_baseline_on_a_series_with_a_gap_of_zeros() -> None:
    settings = BaselineSettings(window=4, min_samples=2, threshold=3.0, min_spread=1.0)
    bands = rolling_baseline([5, 5, 0, 0, 0, 0, 5], settings)
    assert [b.expected if b else None for b in bands] == [None, None, 5, 5, 2.5, 0, 0]


@pytest.mark.parametrize(
    ("name", "rows", "keys", "expected"),
    [
        ("nothing stored: zeros for every key", [], ["a"], {"a": [0, 0, 0]}),
        ("a gap in the middle", [("a", 0, 2), ("a", 2, 1)], ["a"], {"a": [2, 0, 1]}),
        ("other keys and days ignored", [("b", 1, 9), ("a", 5, 9)], ["a"], {"a": [0, 0, 0]}),
        ("two keys", [("a", 1, 1), ("b", 2, 3)], ["a", "b"], {"a": [0, 1, 0], "b": [0, 0, 3]}),
    ],
)
def test_fill_days(
    name: str,
    rows: list[tuple[str, int, int]],
    keys: list[str],
    expected: dict[str, list[int]],
) -> None:
    table = [(key, day(n), items, 5.0 * items, 0.0) for key, n, items in rows]
    got = fill_days(table, keys, day(0), day(2))
    assert {k: [p.items for p in v] for k, v in got.items()} == expected, name
    assert all(p.escalation == 5.0 * p.items for v in got.values() for p in v)


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [(0, 0, 0.0), (1, 0, 0.0), (1, 3, 100 / 3), (3, 3, 100.0), (-2, 4, -50.0)],
)
def test_per_hundred(value: float, total: float, expected: float) -> None:
    assert per_hundred(value, total) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "values", "granularity", "expected"),
    [
        ("a week and two days", [1] * 9, "week", [(D, 7), (day(7), 2)]),
        ("starting mid-week: a partial first week", [0, 0, 0, 4], "week", [(D, 4)]),
        ("days stay days", [1, 0, 2], "day", [(D, 1), (day(1), 0), (day(2), 2)]),
        ("across a month end", [1] * 30, "month", [(date(2024, 3, 1), 28), (date(2024, 4, 1), 2)]),
    ],
)
def test_aggregate_small_counts(
    name: str, values: list[int], granularity: str, expected: list[tuple[date, int]]
) -> None:
    got = aggregate(counts(values), granularity)  # type: ignore[arg-type]
    assert [(p.start, p.items) for p in got] == expected, name


def spike(n: int, observed: float, expected: float = 0.0) -> Spike:
    return Spike(day(n), observed, expected, expected + 7.5, (observed - expected) / 2.5)


@pytest.mark.parametrize(
    ("name", "days", "gap", "expected"),
    [
        ("no spike: no episode", [], 7, []),
        ("one spike: one day", [(3, 10)], 7, [(3, 3, 1, 3)]),
        ("a week apart: one episode", [(0, 10), (7, 30)], 7, [(0, 7, 2, 7)]),
        ("eight days apart: two", [(0, 10), (8, 30)], 7, [(0, 0, 1, 0), (8, 8, 1, 8)]),
        ("chained within the gap", [(0, 9), (5, 8), (10, 9)], 7, [(0, 10, 3, 0)]),
        ("same size peaks: the earliest", [(0, 20), (2, 20)], 1, [(0, 0, 1, 0), (2, 2, 1, 2)]),
    ],
)
def test_group_episodes(
    name: str,
    days: list[tuple[int, float]],
    gap: int,
    expected: list[tuple[int, int, int, int]],
) -> None:
    episodes = group_episodes([spike(n, v) for n, v in days], gap)
    got = [(e.first, e.last, len(e.spikes), e.peak.day) for e in episodes]
    assert got == [(day(a), day(b), n, day(p)) for a, b, n, p in expected], name


def test_episode_peak_is_furthest_above_its_own_baseline() -> None:
    (episode,) = group_episodes([spike(0, 30, expected=25), spike(1, 20, expected=0)])
    assert episode.peak.day == day(1)
