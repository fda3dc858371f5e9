"""The event calendar: known dated events drawn on the charts (``seeds/events.toml``).

Two kinds of entry: ``[[events]]`` on one ``date``, and ``[[recurring]]``
on a ``month`` and ``day`` every year (the MINURSO renewal each October,
the Green March anniversary on 6 November). ``events_between`` expands them
into the days of a period. A malformed file raises ``ConfigError`` naming
the entry; the dashboard shows it and draws no events.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from model import ConfigError


@dataclass(frozen=True)
class CalendarEvent:
    day: date
    label: str
    note: str
    dyads: tuple[str, ...]  # empty: concerns every dyad
    recurring: bool = False

    def concerns(self, dyads: set[str]) -> bool:
        return not self.dyads or bool(dyads & set(self.dyads))


@dataclass(frozen=True)
class Calendar:
    dated: tuple[CalendarEvent, ...]
    recurring: tuple[tuple[int, int, str, str, tuple[str, ...]], ...]  # month, day, label, ...


def _text(entry: dict[str, Any], key: str, where: str, path: Path) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (key == "label" and not value.strip()):
        raise ConfigError(str(path), where, f"{key} must be a non-empty string")
    return value


def load_calendar(path: Path) -> Calendar:
    """Read and check the calendar file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(str(path), "events", f"cannot read the event calendar: {e}") from e
    dated = []
    for n, entry in enumerate(data.get("events", []), 1):
        where = f"events[{n}]"
        day = entry.get("date")
        if not isinstance(day, date):
            raise ConfigError(str(path), where, "date must be a TOML date like 2021-08-24")
        dated.append(
            CalendarEvent(
                day,
                _text(entry, "label", where, path),
                _text(entry, "note", where, path),
                tuple(entry.get("dyads", ())),
            )
        )
    recurring = []
    for n, entry in enumerate(data.get("recurring", []), 1):
        where = f"recurring[{n}]"
        month, day = entry.get("month"), entry.get("day")
        if not isinstance(month, int) or not isinstance(day, int):
            raise ConfigError(str(path), where, "month and day must be whole numbers")
        try:
            date(2000, month, day)  # a leap year: 29 February is allowed
        except ValueError as e:
            raise ConfigError(str(path), where, f"no such day: {e}") from e
        recurring.append(
            (
                month,
                day,
                _text(entry, "label", where, path),
                _text(entry, "note", where, path),
                tuple(entry.get("dyads", ())),
            )
        )
    return Calendar(tuple(dated), tuple(recurring))


def events_between(calendar: Calendar, start: date, end: date) -> list[CalendarEvent]:
    """Every event from ``start`` to ``end`` (inclusive), recurring ones once a year, by day."""
    found = [e for e in calendar.dated if start <= e.day <= end]
    for year in range(start.year, end.year + 1):
        for month, day, label, note, dyads in calendar.recurring:
            try:
                when = date(year, month, day)
            except ValueError:  # 29 February in a common year
                continue
            if start <= when <= end:
                found.append(CalendarEvent(when, label, note, dyads, recurring=True))
    return sorted(found, key=lambda e: (e.day, e.label))
