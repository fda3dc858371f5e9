"""Turning stored tags into time series, baselines and spikes.

Plain functions, no Streamlit: the dashboard and the alerts use the same
ones. ``series`` builds one point per dyad per UTC day (item count,
escalation, de-escalation, net index) and sums them into weeks or months;
``baseline`` gives each day a trailing median/MAD band and flags the days
above it as spikes (its docstring states the statistic and why);
``aggregated`` reads the pre-aggregated tables: per dyad, actor, category or
outlet country, per item or per story (the default), raw or normalised per
100 items collected that day, and per hour for the last days.
"""

from indicators.aggregated import (
    HourPoint,
    Kind,
    NormalisedPoint,
    Unit,
    fill_days,
    key_of,
    load_breakdown,
    load_breakdown_total,
    load_hourly,
    load_series,
    normalise,
    per_hundred,
)
from indicators.baseline import (
    DEFAULT_BASELINE,
    ITEM_COUNT_BASELINE,
    Baseline,
    BaselineSettings,
    Episode,
    Spike,
    WindowComparison,
    baseline_of,
    compare_windows,
    detect_spikes,
    group_episodes,
    period_band,
    robust_spread,
    rolling_baseline,
)
from indicators.series import (
    SEEDED_DYADS,
    DailyPoint,
    Dyad,
    Granularity,
    Measure,
    PeriodPoint,
    aggregate,
    days_between,
    fill_daily,
    load_daily_series,
    next_period_start,
    period_start,
)

__all__ = [
    "DEFAULT_BASELINE",
    "ITEM_COUNT_BASELINE",
    "SEEDED_DYADS",
    "Baseline",
    "BaselineSettings",
    "DailyPoint",
    "Dyad",
    "Episode",
    "Granularity",
    "HourPoint",
    "Kind",
    "Measure",
    "NormalisedPoint",
    "PeriodPoint",
    "Spike",
    "Unit",
    "WindowComparison",
    "aggregate",
    "baseline_of",
    "compare_windows",
    "days_between",
    "detect_spikes",
    "fill_daily",
    "fill_days",
    "group_episodes",
    "key_of",
    "load_breakdown",
    "load_breakdown_total",
    "load_daily_series",
    "load_hourly",
    "load_series",
    "next_period_start",
    "normalise",
    "per_hundred",
    "period_band",
    "period_start",
    "robust_spread",
    "rolling_baseline",
]
