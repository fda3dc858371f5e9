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


def param(at: AppTest, key: str) -> list[str]:
    """A query-string parameter as a list (AppTest keeps one value as a plain string)."""
    value = at.query_params.get(key)
    return [] if value is None else value if isinstance(value, list) else [value]


def texts(at: AppTest, *kinds: str) -> list[str]:
    return [str(node.value) for kind in kinds for node in at.get(kind)]


def test_overview(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch)
    assert [t.value for t in at.title] == ["Escalation by dyad"]
    assert any("As of 30 Jun 2024, 18:00 UTC" in c for c in texts(at, "caption"))
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1  # the index by dyad (sparklines live in the metrics)
    spec = charts[0].proto.spec
    assert "triangle-up" in spec and "Net escalation index" in spec
    assert [m.label for m in at.metric] == [
        "morocco-algeria",
        "morocco-polisario",
        "morocco-israel",
        "algeria-polisario",
        "israel-palestine",
    ]
    top, episodes = at.dataframe[0].value, at.dataframe[1].value
    assert set(top.columns) >= {"dyad", "title", "outlets"}
    assert (episodes["dyad"] == "morocco-algeria").any()
    assert SPIKE_DAY in {d.date() for d in episodes["peak_day"]}
    assert (episodes["first"] <= episodes["peak_day"]).all()
    assert (episodes["peak_day"] <= episodes["last"]).all()
    assert (episodes["peak"] > episodes["expected"]).all()


@pytest.mark.parametrize(
    ("step", "period"), [("Day", "Last 90 days"), ("Week", "All"), ("Month", "Last year")]
)
def test_overview_periods_and_aggregation(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch, step: str, period: str
) -> None:
    at = run_app(sample_db, monkeypatch)
    at.segmented_control(key="granularity").set_value(step)
    at.selectbox(key="period").set_value(period)
    at.run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1
    heading = [s.value for s in at.subheader if s.value.startswith("Net escalation index")]
    start = "02 Apr 2024" if period == "Last 90 days" else "01 Jan 2024"
    assert heading == [f"Net escalation index, {start} – 30 Jun 2024"]
    assert param(at, "granularity") == ([] if step == "Week" else [step])  # defaults stay out


def test_overview_units_events_and_band(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch)
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"expected"' in spec  # the baseline band is drawn
    at.segmented_control(key="unit").set_value("Items")
    at.toggle(key="band").set_value(False)
    at.toggle(key="events").set_value(False)
    at.run()
    assert not at.exception
    assert param(at, "unit") == ["Items"] and param(at, "band") == ["0"]


def test_overview_reads_its_filters_from_the_url(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENSIONWATCH_DATABASE", str(sample_db))
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["dyads"] = ["morocco-israel", "no-such-thing"]
    at.query_params["granularity"] = "Month"
    at.query_params["period"] = "Last 90 days"
    at.run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["morocco-israel"]  # the unknown dyad is dropped
    assert at.segmented_control(key="granularity").value == "Month"
    assert at.selectbox(key="period").value == "Last 90 days"


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
    assert "**Stories behind morocco-algeria, week of 20 May 2024** (UTC)" in shown
    behind = at.dataframe[1].value
    assert "Algeria cuts ties with Morocco" in set(behind["title"])
    assert all(d.date() >= SPIKE_DAY for d in behind["published"])

    at.session_state["escalation_chart"] = {
        "selection": {"pick": [{"dyad": "<b>nonsense</b>", "start": "yesterday"}]}
    }
    at.run()
    assert not at.exception
    assert not any("behind" in m for m in texts(at, "markdown"))

    at = run_app(sample_db, monkeypatch)
    episodes = at.dataframe[1].value
    row = next(
        i
        for i, (dyad, day) in enumerate(zip(episodes["dyad"], episodes["peak_day"], strict=True))
        if dyad == "morocco-algeria" and day.date() == SPIKE_DAY
    )
    first, last = episodes["first"][row].date(), episodes["last"][row].date()
    at.session_state["episodes_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    behind = at.dataframe[2].value
    assert len(behind) == episodes["items"][row]  # exactly the stories counted for the episode
    assert all(first <= d.date() <= last for d in behind["published"])
    assert set(behind["title"]) >= {"Algeria closes airspace to Moroccan aircraft"}


def test_trends_page(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(sample_db, monkeypatch, "trends")
    assert [t.value for t in at.title] == ["Trends"]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4  # lines, categories, countries, hourly
    assert "Escalation (+) / de-escalation" in charts[1].proto.spec
    at.multiselect(key="t_actors").set_value(["israel"])
    at.multiselect(key="t_categories").set_value(["accusation_threat", "military_violence"])
    at.segmented_control(key="t_scale").set_value("Per 100 collected")
    at.segmented_control(key="t_granularity").set_value("Week")
    at.selectbox(key="t_measure").set_value("Escalation")
    at.run()
    assert not at.exception
    assert "per 100 collected" in at.get("vega_lite_chart")[0].proto.spec
    assert param(at, "t_actors") == ["israel"]
    at.multiselect(key="t_dyads").set_value([])
    at.multiselect(key="t_actors").set_value([]).run()
    assert any("Pick at least one dyad or actor" in i for i in texts(at, "info"))


@pytest.mark.parametrize(
    ("chart", "pick", "expected"),
    [
        ("trend_chart", {"series": "morocco-algeria", "start": "2024-05-01"},
         "Algeria cuts ties with Morocco"),
        ("category_chart", {"category": "diplomatic_rupture", "start": "2024-05-01"},
         "Algeria closes airspace to Moroccan aircraft"),
        ("country_chart", {"country": "FR", "start": "2024-05-01"},
         "Algeria cuts ties with Morocco"),
    ],
)  # fmt: skip
def test_trends_drill_down(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch, chart: str, pick: dict[str, str],
    expected: str,
) -> None:  # fmt: skip
    at = run_app(sample_db, monkeypatch, "trends")
    at.session_state[chart] = {"selection": {"pick": [pick]}}
    at.run()
    assert not at.exception
    behind = at.dataframe[-1].value
    assert expected in set(behind["title"])
    assert all(d.month == 5 for d in behind["published"])
    if chart == "category_chart":
        assert all("diplomatic_rupture" in c for c in behind["categories"])


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
        "story_outlets",
    ]
    assert len(table) == len(sample_items()) + 1  # the hostile item too
    assert table["published"].is_monotonic_decreasing
    cut = table[table["title"] == "Algeria cuts ties with Morocco"].iloc[0]
    assert cut["story_outlets"] == 2  # carried by two feeds


def test_items_export(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from dashboard import queries

    at = run_app(sample_db, monkeypatch, "items")
    assert [b.label for b in at.get("download_button")] == ["CSV", "JSON"]
    at.text_input(key="search").set_value("airspace").run()
    table = at.dataframe[0].value
    exported = json.loads(queries.items_json(table))
    assert [e["title"] for e in exported] == ["Algeria closes airspace to Moroccan aircraft"]
    assert exported[0]["published"] == "2024-05-20T09:00:00Z"
    csv = queries.items_csv(table).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("published,outlet,title")
    assert "algeria;morocco" in csv
    hostile = table.assign(title=["=HYPERLINK(1)"])
    assert ",'=HYPERLINK(1)," in queries.items_csv(hostile).decode("utf-8-sig")


@pytest.mark.parametrize(
    ("key", "value", "expected_titles"),
    [
        ("search", "airspace", {"Algeria closes airspace to Moroccan aircraft"}),
        ("search", "AIRSP*", {"Algeria closes airspace to Moroccan aircraft"}),
        ("search", '") OR ("', set()),
        ("i_dyads", ["morocco-polisario"], None),
        ("i_actors", ["united_nations"], {"UN envoy holds talks with Morocco and the Polisario"}),
        (
            "i_categories",
            ["mediation_deescalation"],
            {"UN envoy holds talks with Morocco and the Polisario"},
        ),
        ("i_feeds", ["Atlas Daily (archive)"], None),
        ("i_langs", ["en"], None),
        ("items_period", "Last 90 days", None),
        ("i_unit", "Stories", None),
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
        "i_dyads": at.multiselect,
        "i_actors": at.multiselect,
        "i_categories": at.multiselect,
        "i_feeds": at.multiselect,
        "i_langs": at.multiselect,
        "items_period": at.selectbox,
        "i_unit": at.segmented_control,
    }[key](key=key)
    widget.set_value(value).run()
    assert not at.exception
    assert key in at.query_params  # the filter is in the URL
    if expected_titles == set():
        assert any("Nothing matches" in i for i in texts(at, "info"))
        assert not at.dataframe
        return
    titles = set(at.dataframe[0].value["title"])
    if expected_titles is not None:
        assert titles == expected_titles
    elif key in ("i_unit", "i_langs"):
        assert len(titles) <= everything
    else:
        assert 0 < len(titles) < everything
    if key in ("i_dyads", "i_feeds"):
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
    heading = next(m for m in texts(at, "markdown") if m.startswith("### "))
    assert ":orange-background[**shelling**]" in heading  # the matched words highlighted
    assert ":orange-background[**Guerguerat**]" in heading
    # an archive item without a link gets no button
    assert not at.get("link_button")


OUR_MARKUP = re.compile(r":orange-background\[\*\*|\*\*\]|^### ")


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
    marked = [m for m in texts(at, "markdown") if "alert" in m]
    assert len(marked) == 2  # the title and the summary
    for text in marked:
        # once our own highlight markup is taken out, every ASCII punctuation character
        # of the feed text arrives backslash-escaped: no tag, link, image or $math$ forms
        plain = OUR_MARKUP.sub("", text)
        assert FULLY_ESCAPED.fullmatch(plain), plain
    assert OUR_MARKUP.sub("", marked[0]).replace("\\", "") == HOSTILE_TITLE
    assert OUR_MARKUP.sub("", marked[1]).replace("\\", "") == HOSTILE_SUMMARY


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
    assert feeds.iloc[0]["name"] == "Sahel Gazette"  # failing feeds first
    assert dict(by_name["flag"]) == {
        "Atlas Daily (archive)": "",  # an archive file is never stale
        "Fresh Outlet": "stale",
        "Gone Times": "off",
        "Maghreb Monitor": "stale",  # its last success is long past
        "Sahel Gazette": "failing",
    }
    gazette = by_name.loc["Sahel Gazette"]
    assert gazette["last_error"] == "HTTP 503 Service Unavailable"
    assert gazette["error_count"] == 4
    assert str(gazette["error_since"]).startswith("2024-06-21 08:00")
    assert {"url", "country", "lang", "last_ok", "items", "items_7d", "median_ms",
            "next_due"} <= set(feeds.columns)  # fmt: skip
    assert {m.label: m.value for m in at.metric} == {
        "OK": "2",
        "Failing": "1",
        "Stale": "2",
        "Disabled": "1",
        "Never polled": "1",
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


@pytest.mark.parametrize("page", ["", "trends", "items"])
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


def test_trends_drill_down_follows_the_last_chart_clicked(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(sample_db, monkeypatch, "trends")
    at.session_state["category_chart"] = {
        "selection": {"pick": [{"category": "diplomatic_rupture", "start": "2024-05-01"}]}
    }
    at.session_state["trend_chart"] = {
        "selection": {"pick": [{"series": "morocco-algeria", "start": "2024-05-01"}]}
    }
    at.session_state["t_last_pick"] = "category_chart"
    at.run()
    assert [s.value for s in at.subheader][-1] == "Behind diplomatic\\_rupture, May 2024"
    at.session_state["t_last_pick"] = "trend_chart"
    at.run()
    assert [s.value for s in at.subheader][-1] == "Behind morocco\\-algeria, May 2024"
