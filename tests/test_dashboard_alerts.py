"""The Alerts page through AppTest: empty, then with alerts in every delivery state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.alert_history import DELIVERY, count_deliveries, delivery_label, filter_alerts
from storage.alert_store import NewAlert, record_alert, record_message, update_message
from storage.db import open_database
from tests.dbfactory import SPIKE_DAY, build_database, sample_feeds, sample_items

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
HOSTILE_WHY = "<b>bold</b> [x](javascript:alert(1)) rose to **+60**"


def alert(rule: str, episode: str, fired: str, **kw: object) -> NewAlert:
    values: dict[str, object] = {
        "rule": rule,
        "kind": "spike",
        "series": "dyad:morocco-algeria",
        "episode": episode,
        "fired": datetime.fromisoformat(fired).replace(tzinfo=UTC),
        "title": f"{rule}: morocco-algeria above its usual level",
        "observed": 60.0,
        "expected": 5.0,
        "period": episode,
        "detail": json.dumps({"why": ["Net index +60 against +5 expected", HOSTILE_WHY]}),
        "item_ids": (),
    }
    values.update(kw)
    return NewAlert(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def alerts_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, ...]]:
    items = sample_items()
    path = build_database(
        tmp_path_factory.mktemp("alerts") / "tensionwatch.db", items, sample_feeds()
    )
    spike_ids = tuple(i.id for i in items if i.published.startswith(SPIKE_DAY.isoformat()))
    db = open_database(path)
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    sent = record_alert(
        db, alert("ma-dz-spike", "2024-05-20", "2024-05-20T18:00:00", item_ids=spike_ids)
    )
    failed = record_alert(db, alert("rupture", "item:x", "2024-05-21T09:00:00", kind="match"))
    record_alert(db, alert("ma-dz-spike", "2024-06-02", "2024-06-02T23:00:00", held=True))
    record_alert(
        db,
        alert(
            "flatline",
            "2024-06-10",
            "2024-06-10T08:00:00",
            kind="flatline",
            series="feed:all",
            observed=None,
            expected=None,
        ),
    )
    assert sent is not None and failed is not None
    record_message(db, [sent], "<a@tw>", ["analyst@example.org"], "s", b"x", "pending", now)
    update_message(db, "<a@tw>", "sent", now, attempted=True)
    record_message(db, [failed], "<b@tw>", ["analyst@example.org"], "s", b"x", "pending", now)
    update_message(db, "<b@tw>", "failed", now, error="535 auth failed", attempted=True)
    db.conn.close()
    return path, spike_ids


def run(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TENSIONWATCH_DATABASE", str(path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/alerts.py").run()
    assert not at.exception, at.exception
    return at


def test_no_alerts_yet_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_database(tmp_path / "tw.db", sample_items()[:5], sample_feeds())
    at = run(path, monkeypatch)
    assert [t.value for t in at.title] == ["Alerts"]
    assert not at.dataframe
    (info,) = at.info
    assert "No alert has fired yet" in info.value and "alerts run" in info.value


def test_no_items_still_shows_alerts_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_database(tmp_path / "tw.db", [], sample_feeds())
    at = run(path, monkeypatch)
    assert [t.value for t in at.title] == ["Alerts"]
    assert "No alert has fired yet" in at.info[0].value


def test_history_with_delivery_states(
    alerts_db: tuple[Path, tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run(alerts_db[0], monkeypatch)
    table = at.dataframe[0].value
    assert list(table["rule"]) == ["flatline", "ma-dz-spike", "rupture", "ma-dz-spike"]
    assert list(table["delivery"]) == [
        "no email",
        "held for quiet hours",
        "failed",
        "sent",
    ]
    assert list(table["items"]) == [0, 0, 0, len(alerts_db[1])]
    assert table["observed"].isna().iloc[0] and table["observed"].iloc[-1] == 60
    assert table["error"].iloc[2] == "535 auth failed"
    assert [m.value for m in at.metric] == ["4", "2", "1", "1"]


def test_select_an_alert_lists_its_items(
    alerts_db: tuple[Path, tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, spike_ids = alerts_db
    at = run(path, monkeypatch)
    at.session_state["alerts_table"] = {"selection": {"rows": [3], "columns": []}}
    at.run()
    assert not at.exception
    items = at.dataframe[1].value
    assert sorted(items["id"]) == sorted(spike_ids)
    reasons = [m.value for m in at.markdown]
    assert any("Net index \\+60 against \\+5 expected" in r for r in reasons)
    hostile = next(r for r in reasons if "bold" in r)
    assert "<b>" not in hostile and "](javascript" not in hostile  # escaped, shown as text


def test_failed_delivery_shows_its_error(
    alerts_db: tuple[Path, tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run(alerts_db[0], monkeypatch)
    at.session_state["alerts_table"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    assert any("535 auth failed" in w.value for w in at.warning)
    assert any("No item is attached" in c.value for c in at.caption)


def test_filters_live_in_the_url(
    alerts_db: tuple[Path, tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run(alerts_db[0], monkeypatch)
    at.multiselect(key="a_rules").set_value(["ma-dz-spike"]).run()
    assert list(at.dataframe[0].value["rule"]) == ["ma-dz-spike", "ma-dz-spike"]
    assert at.query_params.get("a_rules") in (["ma-dz-spike"], "ma-dz-spike")
    at.multiselect(key="a_delivery").set_value(["failed"]).run()
    assert any("No alert matches" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], {"ok": 0, "waiting": 0, "attention": 0}),
        (["sent", "outbox", "none"], {"ok": 3, "waiting": 0, "attention": 0}),
        (["held", "pending", "deferred", "sending"], {"ok": 0, "waiting": 4, "attention": 0}),
        (["failed", "unknown", "something new"], {"ok": 0, "waiting": 0, "attention": 3}),
    ],
)
def test_count_deliveries(statuses: list[str], expected: dict[str, int]) -> None:
    import pandas as pd

    assert count_deliveries(pd.DataFrame({"status": statuses})) == expected


def test_every_delivery_status_has_words() -> None:
    from storage.alert_store import MESSAGE_STATUSES

    assert set(MESSAGE_STATUSES) | {"held", "none"} <= set(DELIVERY)
    assert delivery_label("brand-new") == "brand-new"


def test_filter_alerts_renumbers_rows() -> None:
    import pandas as pd

    frame = pd.DataFrame({"rule": ["a", "b", "a"], "delivery": ["sent", "failed", "failed"]})
    shown = filter_alerts(frame, ["a"], ["failed"])
    assert list(shown.index) == [0] and shown["rule"].tolist() == ["a"]
    assert filter_alerts(frame, [], []).equals(frame)
