"""Rolling baselines and spikes: is today unusual for this series?

The statistic. For each day, the baseline is computed from the ``window``
days *before* it (28 by default, four whole weeks so that every weekday
counts equally and a quiet-weekend rhythm does not bias it; the day itself
is left out so that a spike cannot raise its own bar):

- ``expected`` is the **median** of the window;
- ``spread`` is the **MAD** (median absolute deviation from that median)
  scaled by 1.4826, which estimates a standard deviation when the data are
  normal. When more than half the window is identical (typical of a quiet
  dyad: mostly zero days) the MAD is 0, and we fall back to 1.2533 × the
  mean absolute deviation (Iglewicz & Hoaglin's rule), and then to the
  ``min_spread`` floor;
- the band is ``expected ± threshold × spread`` (3 by default);
- when the MAD is 0 (most days alike), the band cannot tell how big an
  ordinary event is, so its top is raised to at least the largest value of
  the window: on a dyad with one clash every ten days, a clash is the
  usual, and only a day bigger than any of the last four weeks stands out.

A day is a **spike** when its value is above the top of the band. Why median and MAD
rather than mean and standard deviation: news counts are bursty and
heavy-tailed, and one big day in the window would inflate a mean and a
standard deviation enough to hide the next one; the median and the MAD
ignore up to half the window being unusual.

Why a floor: on a quiet series the window is all zeros and any single item
would be "infinitely" unusual. ``min_spread`` is in the series' own units;
for the net index (category weights) the default 2.5 with a threshold of 3
means a day must exceed its median by more than 7.5 weight points (one
military-violence report, or two accusations) to count.

Warm-up: with fewer than ``min_samples`` days before it (the start of
collection, or of the series handed in), a day gets no baseline and can
never be a spike. Callers pass series that start where observation started:
days before the first collected item are unknown, not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

from indicators.series import DailyPoint, Measure

MAD_TO_SD = 1.4826  # 1 / Φ⁻¹(3/4): MAD × this estimates σ for normal data
MEAN_AD_TO_SD = 1.2533  # √(π/2): mean absolute deviation × this estimates σ


@dataclass(frozen=True)
class BaselineSettings:
    window: int = 28  # trailing days used for each day's baseline
    min_samples: int = 14  # fewer days before a day: no baseline (warm-up)
    threshold: float = 3.0  # band half-width, in robust standard deviations
    min_spread: float = 2.5  # floor of the spread, in the series' units

    def __post_init__(self) -> None:
        if self.window < 1 or not 1 <= self.min_samples <= self.window:
            raise ValueError("need window >= 1 and 1 <= min_samples <= window")
        if self.threshold <= 0 or self.min_spread <= 0:
            raise ValueError("threshold and min_spread must be positive")


DEFAULT_BASELINE = BaselineSettings()
ITEM_COUNT_BASELINE = BaselineSettings(min_spread=1.0)  # for Measure "items"


@dataclass(frozen=True)
class Baseline:
    """What a day was expected to be, from the days before it."""

    expected: float
    spread: float
    lower: float
    upper: float
    samples: int


@dataclass(frozen=True)
class Spike:
    """A day above its band: what was observed against what was expected."""

    day: date
    observed: float
    expected: float
    upper: float
    score: float  # (observed - expected) / spread: robust standard deviations above


@dataclass(frozen=True)
class WindowComparison:
    """The last ``days`` days summed, against the median of the full windows before them."""

    current: float
    expected: float | None  # None when no full earlier window exists
    windows: int  # how many earlier windows the expectation rests on


def robust_spread(values: Sequence[float], centre: float, floor: float) -> float:
    """1.4826 × MAD, or 1.2533 × mean absolute deviation when the MAD is 0, at least ``floor``."""
    return _spread_and_mad([abs(v - centre) for v in values], floor)[0]


def _spread_and_mad(deviations: Sequence[float], floor: float) -> tuple[float, float]:
    mad = median(deviations)
    spread = MAD_TO_SD * mad
    if spread == 0:
        spread = MEAN_AD_TO_SD * sum(deviations) / len(deviations)
    return max(spread, floor), mad


def baseline_of(window: Sequence[float], settings: BaselineSettings) -> Baseline | None:
    """The baseline a day gets from the values before it (``None`` during warm-up)."""
    if len(window) < settings.min_samples:
        return None
    expected = median(window)
    # the deviations' median (MAD) serves twice: the spread, and the flat-window case
    spread, mad = _spread_and_mad([abs(v - expected) for v in window], settings.min_spread)
    half = settings.threshold * spread
    upper = expected + half
    if mad == 0:
        upper = max(upper, max(window))
    return Baseline(expected, spread, expected - half, upper, len(window))


def rolling_baseline(
    values: Sequence[float], settings: BaselineSettings = DEFAULT_BASELINE
) -> tuple[Baseline | None, ...]:
    """A baseline for each value (one value per consecutive day), from the days before it."""
    return tuple(
        baseline_of(values[max(0, i - settings.window) : i], settings) for i in range(len(values))
    )


def period_band(
    days: Sequence[Baseline], settings: BaselineSettings = DEFAULT_BASELINE
) -> Baseline | None:
    """The usual range of a sum of days (a week, a month), from their daily baselines.

    Expected is the sum of the days' medians; the spread is the square root of
    the sum of their squared spreads (the spread of a sum of independent
    days), so a week's band is about 2.6 daily spreads wide, not seven: the
    days' bands simply added would hide any week made of a few busy days.
    One day keeps its own band. ``None`` when no day has a baseline.
    """
    if not days:
        return None
    if len(days) == 1:
        return days[0]
    expected = sum(b.expected for b in days)
    spread = sum(b.spread**2 for b in days) ** 0.5
    half = settings.threshold * spread
    samples = min(b.samples for b in days)
    return Baseline(expected, spread, expected - half, expected + half, samples)


def detect_spikes(
    points: Sequence[DailyPoint],
    measure: Measure = "net",
    settings: BaselineSettings = DEFAULT_BASELINE,
    bands: Sequence[Baseline | None] | None = None,
) -> tuple[Spike, ...]:
    """Days whose ``measure`` is above their band, in order. ``bands``: the bands of these
    values when the caller has them already (``rolling_baseline`` of the same values and
    settings), so that they are not computed twice."""
    values = [p.measure(measure) for p in points]
    if bands is None:
        bands = rolling_baseline(values, settings)
    spikes = []
    for point, value, base in zip(points, values, bands, strict=True):
        if base is not None and value > base.upper:
            score = (value - base.expected) / base.spread
            spikes.append(Spike(point.day, value, base.expected, base.upper, score))
    return tuple(spikes)


@dataclass(frozen=True)
class Episode:
    """Spike days of one series close enough to be one story of escalation."""

    first: date
    last: date
    spikes: tuple[Spike, ...]  # in order

    @property
    def peak(self) -> Spike:
        """The spike furthest above its own baseline (the earliest of equals)."""
        return max(self.spikes, key=lambda s: (s.observed - s.expected, -s.day.toordinal()))


def group_episodes(spikes: Sequence[Spike], gap: int = 7) -> tuple[Episode, ...]:
    """Spikes (of one series, in order) grouped into episodes: a spike at most ``gap`` days
    after the previous one continues its episode."""
    episodes: list[list[Spike]] = []
    for spike in spikes:
        if episodes and (spike.day - episodes[-1][-1].day).days <= gap:
            episodes[-1].append(spike)
        else:
            episodes.append([spike])
    return tuple(Episode(group[0].day, group[-1].day, tuple(group)) for group in episodes)


def compare_windows(
    points: Sequence[DailyPoint], measure: Measure = "net", days: int = 30, history: int = 6
) -> WindowComparison:
    """Sum of the last ``days`` points against the median sum of up to ``history``
    earlier, non-overlapping ``days``-long windows (only full ones count).

    The median of whole windows, not a daily baseline × 30: a quiet dyad's
    daily median is 0, which would make every month look exceptional.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    values = [p.measure(measure) for p in points]
    current = sum(values[-days:])
    sums: list[float] = []
    end = len(values) - days
    while end >= days and len(sums) < history:
        sums.append(sum(values[end - days : end]))
        end -= days
    return WindowComparison(current, median(sums) if sums else None, len(sums))
