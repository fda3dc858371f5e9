"""Turning stored tags into time series, baselines and spikes.

Plain functions, no Streamlit: the dashboard and the alerts use the same
ones. ``series`` builds one point per dyad per UTC day (item count,
escalation, de-escalation, net index) and sums them into weeks or months;
``baseline`` gives each day a trailing median/MAD band and flags the days
above it as spikes (its docstring states the statistic and why).
"""

from indicators.baseline import (
    DEFAULT_BASELINE,
    ITEM_COUNT_BASELINE,
    Baseline,
    BaselineSettings,
    Spike,
    WindowComparison,
    baseline_of,
    compare_windows,
    detect_spikes,
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
    "Granularity",
    "Measure",
    "PeriodPoint",
    "Spike",
    "WindowComparison",
    "aggregate",
    "baseline_of",
    "compare_windows",
    "days_between",
    "detect_spikes",
    "fill_daily",
    "load_daily_series",
    "next_period_start",
    "period_start",
    "robust_spread",
    "rolling_baseline",
]
