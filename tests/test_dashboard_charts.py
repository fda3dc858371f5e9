"""Chart builders: what they draw from small frames (no Streamlit needed)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard.charts import LABEL_SLOTS, escalation_chart, labelled_events, stack_bars


def events(days: list[str], recurring: list[bool] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": [pd.Timestamp(d, tz="UTC") for d in days],
            "label": [f"event {n}" for n in range(len(days))],
            "note": "",
            "recurring": recurring or [False] * len(days),
        }
    )


@pytest.mark.parametrize(
    ("name", "days", "recurring", "kept"),
    [
        ("far apart: every label", ["2020-01-01", "2021-01-01", "2022-01-01"], None, [0, 1, 2]),
        ("two in a week: the first", ["2021-08-24", "2021-08-27", "2022-01-01"], None, [0, 2]),
        ("one-off before yearly", ["2021-08-20", "2021-08-24"], [True, False], [1]),
    ],
)
def test_labelled_events_never_crowd(
    name: str, days: list[str], recurring: list[bool] | None, kept: list[int]
) -> None:
    frame = events(days, recurring)
    first, last = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2025-12-31", tz="UTC")
    labelled = labelled_events(frame, first, last)
    assert list(labelled.index) == kept, name
    gaps = labelled["day"].sort_values().diff().dropna()
    assert (gaps >= (last - first) / LABEL_SLOTS).all()


def chart_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dyad": ["morocco-algeria"] * 3,
            "period": [
                pd.Timestamp(d, tz="UTC") for d in ("2021-08-16", "2021-08-23", "2021-08-30")
            ],
            "start": ["2021-08-16", "2021-08-23", "2021-08-30"],
            "label": ["a", "b", "c"],
            "days": [7, 7, 7],
            "items": [0, 9, 1],
            "escalation": [0.0, 76.0, 5.0],
            "deescalation": [0.0, 0.0, 0.0],
            "net": [0.0, 76.0, 5.0],
            "expected": [0.0, 0.0, 0.0],
            "lower": [-19.8, -19.8, -19.8],
            "upper": [19.8, 19.8, 19.8],
            "spike_days": [0, 1, 0],
            "spike_note": ["", "24 Aug: +43 (expected +0)", ""],
        }
    )


def test_escalation_chart_points_only_where_items_are() -> None:
    spec = escalation_chart(chart_frame(), ["morocco-algeria"], "week").to_dict()
    (pick,) = [p for p in spec["params"] if p["name"] == "pick"]
    pickable = [layer for layer in spec["layer"] if layer.get("name") in pick["views"]]
    assert len(pickable) == 1 and pickable[0]["mark"]["type"] == "circle"
    assert {"filter": "(datum.items > 0)"} in pickable[0]["transform"]
    text = json.dumps(spec)
    assert '"bind": "legend"' in text  # a legend click brings one dyad forward
    assert "Net escalation index (per week, weight points)" in text


def test_escalation_chart_without_band() -> None:
    spec = escalation_chart(chart_frame(), ["morocco-algeria"], "day", band=False).to_dict()
    assert not any(layer.get("mark", {}).get("type") == "area" for layer in spec["layer"])


@pytest.mark.parametrize(
    ("name", "rows", "expected"),
    [
        ("one bar", [("a", 5.0)], [("a", 0.0, 5.0)]),
        ("two up", [("b", 2.0), ("a", 5.0)], [("a", 0.0, 5.0), ("b", 5.0, 7.0)]),
        ("up and down apart", [("a", 5.0), ("b", -3.0), ("c", -1.0)],
         [("a", 0.0, 5.0), ("b", 0.0, -3.0), ("c", -3.0, -4.0)]),
    ],
)  # fmt: skip
def test_stack_bars(
    name: str, rows: list[tuple[str, float]], expected: list[tuple[str, float, float]]
) -> None:
    period = pd.Timestamp("2024-01-31", tz="UTC")
    frame = pd.DataFrame({"period": period, "key": [k for k, _ in rows], "v": [v for _, v in rows]})
    bars = stack_bars(frame, "v", "key", ["a", "b", "c"], "month")
    assert list(zip(bars["key"], bars["y0"], bars["y1"], strict=True)) == expected, name
    assert (bars["end"] == pd.Timestamp("2024-02-29", tz="UTC")).all()  # a month on, clipped
