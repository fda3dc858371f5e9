"""The event calendar: dated and yearly events, and clear errors for a malformed file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from indicators.events import events_between, load_calendar
from model import ConfigError
from tensionwatch import paths


def test_seeded_calendar() -> None:
    calendar = load_calendar(paths.seeds_dir() / "events.toml")
    found = events_between(calendar, date(2021, 8, 1), date(2021, 11, 30))
    labels = [(e.day, e.label) for e in found]
    assert (date(2021, 8, 24), "Algeria cuts ties") in labels
    assert (date(2021, 10, 31), "MINURSO renewal") in labels
    assert (date(2021, 11, 6), "Green March anniversary") in labels
    assert [e.day for e in found] == sorted(e.day for e in found)
    yearly = [e for e in found if e.recurring]
    assert {e.label for e in yearly} == {"MINURSO renewal", "Green March anniversary"}
    assert found[0].concerns({"morocco-algeria"})


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("no date", '[[events]]\nlabel = "x"\nnote = ""\n', "events[1]"),
        ("date as text", '[[events]]\ndate = "2021"\nlabel = "x"\n', "events[1]"),
        ("empty label", "[[events]]\ndate = 2021-01-01\nlabel = ' '\n", "events[1]"),
        ("no such day", '[[recurring]]\nmonth = 2\nday = 30\nlabel = "x"\n', "recurring[1]"),
        ("not TOML", "[[events]\n", "events"),
    ],
)
def test_malformed_calendar(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / "events.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_calendar(path)
    assert caught.value.key == where, name


def test_leap_day_recurs_only_in_leap_years(tmp_path: Path) -> None:
    path = tmp_path / "events.toml"
    path.write_text('[[recurring]]\nmonth = 2\nday = 29\nlabel = "Leap"\n', encoding="utf-8")
    found = events_between(load_calendar(path), date(2023, 1, 1), date(2024, 12, 31))
    assert [e.day for e in found] == [date(2024, 2, 29)]
