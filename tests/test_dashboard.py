"""The dashboard through Streamlit's AppTest on the entry script, on real SQLite files.

Every page is visited with the factory's sample database; filters, the
chart and table selections are exercised; an empty and a missing database
give the friendly message; hostile feed text is shown as text.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dbfactory import (
    SPIKE_DAY,
    ItemSpec,
    build_database,
    sample_feeds,
    sample_items,
)

FULLY_ESCAPED = re.compile(r"(?:\\[!-/:-@\[-`{-~]|[^!-/:-@\[-`{-~])*")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
HOSTILE_TITLE = "<script>alert(1)</script> Morocco accuses Algeria"
HOSTILE_SUMMARY = (
    "<img src=x onerror=alert(2)> [click](javascript:alert(3)) "
    "![pixel](https://tracker.example/p.png) $x^2$ **bold**"
)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hostile = ItemSpec(
        HOSTILE_TITLE,
        "2024-06-30T18:00:00Z",
        ("morocco", "algeria"),
        ("accusation_threat",),
        summary=HOSTILE_SUMMARY,
        url="javascript:alert(1)",
    )
    path = tmp_path_factory.mktemp("dashboard") / "tensionwatch.db"
    return build_database(path, [*sample_items(), hostile], sample_feeds())


def run_app(database: Path | None, monkeypatch: pytest.MonkeyPatch, page: str = "") -> AppTest:
    if database is not None:
        monkeypatch.setenv("TENSIONWATCH_DATABASE", str(database))
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, *kinds: str) -> list[str]:
    return [str(node.value) for kind in kinds for node in at.get(kind)]


def test_overview(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch)
    assert [t.value for t in at.title] == ["Escalation by dyad"]
    assert any("As of 30 Jun 2024, 18:00 UTC" in c for c in texts(at, "caption"))
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # the index by dyad, the categories of one dyad
    spec = charts[0].proto.spec
    assert "triangle-up" in spec and "Net escalation index" in spec
    assert [m.label for m in at.metric] == [
        "morocco-algeria",
        "morocco-polisario",
        "morocco-israel",
        "algeria-polisario",
        "israel-palestine",
    ]
    spikes = at.dataframe[0].value
    assert (spikes["dyad"] == "morocco-algeria").any()
    assert SPIKE_DAY.isoformat() in {d.date().isoformat() for d in spikes["day"]}


@pytest.mark.parametrize("step", ["Day", "Week", "Month"])
@pytest.mark.parametrize("period", ["Last 90 days", "All"])
def test_overview_periods_and_aggregation(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch, step: str, period: str
) -> None:
    at = run_app(sample_db, monkeypatch)
    at.segmented_control(key="granularity").set_value(step)
    at.selectbox(key="period").set_value(period)
    at.run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 2
    heading = [s.value for s in at.subheader if s.value.startswith("Net escalation index")]
    start = "02 Apr 2024" if period == "Last 90 days" else "01 Jan 2024"
    assert heading == [f"Net escalation index, {start} – 30 Jun 2024"]


def test_overview_other_dyads_and_none(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch)
    at.multiselect(key="dyads").set_value(["morocco-algeria", "algeria-israel"]).run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["morocco-algeria", "algeria-israel"]
    at.multiselect(key="dyads").set_value([]).run()
    assert not at.exception
    assert any("Pick at least one dyad" in i for i in texts(at, "info"))
    assert not at.get("vega_lite_chart")


def test_overview_drill_down_from_chart_and_spikes(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_db, monkeypatch)
    at.session_state["escalation_chart"] = {
        "selection": {"pick": [{"dyad": "morocco-algeria", "start": "2024-05-20"}]}
    }
    at.run()
    assert not at.exception
    shown = [m.replace("\\", "") for m in texts(at, "markdown")]
    assert "**Items behind morocco-algeria, week of 20 May 2024** (UTC)" in shown
    behind = at.dataframe[0].value
    assert "Algeria cuts ties with Morocco" in set(behind["title"])

    at.session_state["escalation_chart"] = {
        "selection": {"pick": [{"dyad": "<b>nonsense</b>", "start": "yesterday"}]}
    }
    at.run()
    assert not at.exception
    assert not any("Items behind" in m for m in texts(at, "markdown"))

    at = run_app(sample_db, monkeypatch)
    spikes = at.dataframe[0].value
    row = next(
        i
        for i, (dyad, day) in enumerate(zip(spikes["dyad"], spikes["day"], strict=True))
        if dyad == "morocco-algeria" and day.date() == SPIKE_DAY
    )
    at.session_state["spikes_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    that_day = at.dataframe[1].value
    assert len(that_day) == 3
    assert set(that_day["title"]) >= {"Algeria closes airspace to Moroccan aircraft"}


def test_items_page(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch, "items")
    assert [t.value for t in at.title] == ["Items"]
    table = at.dataframe[0].value
    assert list(table.columns[:7]) == [
        "published",
        "outlet",
        "title",
        "actors",
        "categories",
        "index",
        "link",
    ]
    assert len(table) == len(sample_items()) + 1  # the hostile item too
    assert table["published"].is_monotonic_decreasing


@pytest.mark.parametrize(
    ("key", "value", "expected_titles"),
    [
        ("search", "airspace", {"Algeria closes airspace to Moroccan aircraft"}),
        ("search", "AIRSP*", {"Algeria closes airspace to Moroccan aircraft"}),
        ("search", '") OR ("', set()),
        ("dyad", "morocco-polisario", None),
        ("actors", ["united_nations"], {"UN envoy holds talks with Morocco and the Polisario"}),
        (
            "categories",
            ["mediation_deescalation"],
            {"UN envoy holds talks with Morocco and the Polisario"},
        ),
        ("items_period", "Last 90 days", None),
    ],
)
def test_items_filters(
    sample_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: object,
    expected_titles: set[str] | None,
) -> None:
    at = run_app(sample_db, monkeypatch, "items")
    everything = len(at.dataframe[0].value)
    widget = {
        "search": at.text_input,
        "dyad": at.selectbox,
        "actors": at.multiselect,
        "categories": at.multiselect,
        "items_period": at.selectbox,
    }[key](key=key)
    widget.set_value(value).run()
    assert not at.exception
    if expected_titles == set():
        assert any("No item matches" in i for i in texts(at, "info"))
        assert not at.dataframe
        return
    titles = set(at.dataframe[0].value["title"])
    if expected_titles is not None:
        assert titles == expected_titles
    else:
        assert 0 < len(titles) < everything
    if key == "dyad":
        assert all("Polisario" in t or "UN envoy" in t for t in titles)


def test_item_explained(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch, "items")
    at.text_input(key="search").set_value("Guerguerat").run()
    at.session_state["items_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    evidence = at.dataframe[1].value
    assert list(evidence.columns) == [
        "kind",
        "tag",
        "weight",
        "rule",
        "field",
        "text",
        "span",
        "rules_version",
    ]
    rows = {(r.tag, r.rule, r.field, r.text) for r in evidence.itertuples()}
    assert ("military_violence", "category.military_violence", "title", "shelling") in rows
    assert ("western_sahara", "actor.western_sahara", "title", "Guerguerat") in rows
    assert ("polisario", "actor.polisario", "title", "Polisario") in rows
    # an archive item without a link gets no button
    assert not at.get("link_button")


def test_hostile_feed_text_is_shown_as_text(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_db, monkeypatch, "items")
    table = at.dataframe[0].value
    newest = table.iloc[0]
    assert newest["title"] == HOSTILE_TITLE  # verbatim in a text cell, never markup
    assert newest["link"] is None or newest["link"] != newest["link"]  # javascript: dropped
    at.session_state["items_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert not at.get("html")
    assert not at.get("link_button")
    (title,) = [s.value for s in at.subheader if "alert" in s.value]
    # every ASCII punctuation character of the title arrives backslash-escaped, so no
    # tag, link, image, emphasis or $math$ can form in the heading
    assert FULLY_ESCAPED.fullmatch(title), title
    assert title.replace("\\", "") == HOSTILE_TITLE
    # the summary goes through st.text: shown as it is, never parsed
    assert texts(at, "text") == [HOSTILE_SUMMARY]


def test_feeds_page(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch, "feeds")
    feeds = at.dataframe[0].value
    by_name = feeds.set_index("name")
    assert dict(by_name["status"]) == {
        "Atlas Daily (archive)": "ok",
        "Fresh Outlet": "never",
        "Gone Times": "disabled",
        "Maghreb Monitor": "ok",
        "Sahel Gazette": "error",
    }
    gazette = by_name.loc["Sahel Gazette"]
    assert gazette["last_error"] == "HTTP 503 Service Unavailable"
    assert gazette["error_count"] == 4
    assert str(gazette["error_since"]).startswith("2024-06-21 08:00")
    assert {"url", "country", "lang", "last_ok", "items", "items_7d"} <= set(feeds.columns)
    assert {m.label: m.value for m in at.metric} == {
        "Ok": "2",
        "Error": "1",
        "Disabled": "1",
        "Never": "1",
    }


def test_missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(tmp_path / "nowhere" / "tensionwatch.db", monkeypatch)
    (info,) = texts(at, "info")
    assert "No database yet" in info and "tensionwatch collect --once" in info
    assert "make run" in info
    assert not at.get("vega_lite_chart")
    assert not (tmp_path / "nowhere").exists()  # read-only: nothing created


def test_default_database_path_is_under_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(None, monkeypatch)  # conftest cleared TENSIONWATCH_* and moved to tmp_path
    (info,) = texts(at, "info")
    assert "data/tensionwatch.db" in info.replace("\\", "")


@pytest.mark.parametrize("page", ["", "items"])
def test_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    at = run_app(build_database(tmp_path / "t.db", []), monkeypatch, page)
    (info,) = texts(at, "info")
    assert "No items yet" in info and "tensionwatch collect --once" in info
    assert not at.get("vega_lite_chart") and not at.dataframe


def test_empty_database_feeds_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(build_database(tmp_path / "t.db", []), monkeypatch, "feeds")
    feeds = at.dataframe[0].value  # a feed polled fine that has brought nothing yet
    assert (feeds["status"].tolist(), feeds["items"].tolist()) == (["ok"], [0])
    at = run_app(build_database(tmp_path / "none.db", [], []), monkeypatch, "feeds")
    assert any("No feed is stored yet" in i for i in texts(at, "info"))


def test_unusable_database_is_our_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # an empty SQLite file: schema version 0
    at = run_app(path, monkeypatch)
    (error,) = texts(at, "error")
    assert "tensionwatch db migrate" in error and str(path) in error
