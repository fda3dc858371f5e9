"""Alert rules: the ``[[alerts]]`` tables of the config, validated into ``AlertRule``.

Every problem raises ``AlertError`` with one line naming the file, the rule,
the key, the bad value and what is expected, e.g.
``tensionwatch.toml: alerts[2] (ma-dz-spike): min_items = -1: expected a whole
number from 1 to 10000``. Keys and defaults are listed in docs/alerts.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from indicators import SEEDED_DYADS, Dyad, Measure
from model import AlertError
from tensionwatch.values import (
    Invalid,
    choice,
    int_range,
    parse_address,
    parse_bool,
    parse_duration,
    parse_str,
)

KINDS = ("spike", "threshold", "match", "flatline", "digest")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 86400.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

COMMON_KEYS = {"name", "kind", "to", "cooldown", "quiet_hours", "timezone", "enabled"}
FILTER_KEYS = {"dyad", "actors", "categories"}
KIND_KEYS: dict[str, set[str]] = {
    "spike": FILTER_KEYS
    | {"measure", "min_items", "threshold", "baseline_days", "lookback_days", "unit", "normalised"},
    "threshold": FILTER_KEYS | {"count", "window"},
    "match": FILTER_KEYS | {"max_age"},
    "flatline": {"feed", "period"},
    "digest": {"every", "at", "weekday", "dyads", "top"},
}
DEFAULT_COOLDOWN = {
    "spike": 3 * DAY,
    "threshold": DAY,
    "match": 0.0,
    "flatline": DAY,
    "digest": 0.0,
}


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` local time (may wrap past midnight)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class AlertRule:
    """One validated rule. Fields that do not apply to its kind keep their defaults."""

    name: str
    kind: str
    to: tuple[str, ...] = ()
    cooldown: float = 0.0  # seconds
    quiet_hours: QuietHours | None = None
    timezone: str = "UTC"
    enabled: bool = True
    # the series or filter (spike, threshold, match)
    dyad: Dyad | None = None
    actors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # spike
    measure: Measure = "net"
    min_items: int = 2
    threshold: float = 3.0
    baseline_days: int = 28
    lookback_days: int = 2
    unit: str = "item"  # "story": a wire story carried by many outlets counts once
    normalised: bool = False  # per 100 items (stories) collected that day
    # threshold
    count: int = 5
    window: float = DAY
    # match
    max_age: float = 2 * DAY
    # flatline
    feed: str | None = None  # None: all enabled live feeds
    period: float = DAY
    # digest
    every: str = "daily"
    at: time = time(8, 0)
    weekday: int = 0
    dyads: tuple[Dyad, ...] = SEEDED_DYADS
    top: int = 10

    @property
    def all_actors(self) -> tuple[str, ...]:
        """Actors an item must carry: the dyad's two, then ``actors``."""
        pair = (self.dyad.a, self.dyad.b) if self.dyad else ()
        return tuple(dict.fromkeys((*pair, *self.actors)))

    @property
    def series(self) -> str:
        """What the rule watches, as stored in the alert history."""
        if self.kind == "flatline":
            return f"feed:{self.feed or 'all'}"
        if self.kind == "digest":
            return f"digest:{self.every}"
        parts = []
        if self.dyad:
            parts.append(f"dyad:{self.dyad.id}")
        if self.actors:
            parts.append("actors:" + "+".join(self.actors))
        if self.categories:
            parts.append("categories:" + "+".join(self.categories))
        return " ".join(parts) or "all"

    @property
    def uses_aggregates(self) -> bool:
        """Read from the pre-aggregated tables (stories, normalised) rather than the tags."""
        return self.unit == "story" or self.normalised

    def aggregate_key(self) -> tuple[str, str] | None:
        """(kind, key) of the rule's series in ``agg_daily``, or None when it has none."""
        actors, categories = self.actors, self.categories
        if self.dyad and not actors and len(categories) <= 1:
            pair = "-".join(sorted((self.dyad.a, self.dyad.b)))
            return ("dyad_category", f"{pair}|{categories[0]}") if categories else ("dyad", pair)
        if not self.dyad and len(actors) == 1 and not categories:
            return ("actor", actors[0])
        if not self.dyad and not actors and len(categories) == 1:
            return ("category", categories[0])
        return None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _clock(raw: object) -> time:
    if not isinstance(raw, str) or not (m := _CLOCK.match(raw.strip())):
        raise Invalid('expected a local time "HH:MM" such as "08:00"')
    return time(int(m.group(1)), int(m.group(2)))


def _quiet(raw: object) -> QuietHours:
    if not isinstance(raw, str) or raw.count("-") != 1:
        raise Invalid('expected "HH:MM-HH:MM" such as "22:00-07:00"')
    start, end = (_clock(part) for part in raw.split("-"))
    if start == end:
        raise Invalid("expected two different times")
    return QuietHours(start, end)


def _zone(raw: object) -> str:
    name = parse_str(raw)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid('expected an IANA time zone such as "Africa/Casablanca" or "UTC"') from None
    return name


def _ids(raw: object) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise Invalid("expected an id or a non-empty list of ids")
    out = []
    for item in items:
        text = parse_str(item)
        if not re.fullmatch(r"[a-z0-9_]+", text):
            raise Invalid("expected taxonomy ids (lower case letters, digits, _)")
        out.append(text)
    return tuple(out)


def _dyad(raw: object) -> Dyad:
    try:
        return Dyad.parse(parse_str(raw))
    except ValueError:
        raise Invalid('expected two actor ids joined by "-", such as "morocco-algeria"') from None


def _dyads(raw: object) -> tuple[Dyad, ...]:
    if not isinstance(raw, list) or not raw:
        raise Invalid('expected a non-empty list of dyads such as ["morocco-algeria"]')
    return tuple(_dyad(d) for d in raw)


def _recipients(raw: object) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise Invalid("expected an email address or a list of them")
    return tuple(parse_address(a) for a in items)


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not _NAME.match(raw):
        raise Invalid("expected a name of letters, digits, '_', '.' or '-' (at most 80)")
    return raw


def _number(low: float, high: float) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
            raise Invalid(f"expected a number from {low:g} to {high:g}")
        return float(raw)

    return parse


def _duration(low: float, high: float) -> Callable[[object], float]:
    return lambda raw: parse_duration(raw, low=low, high=high)


def _feed(raw: object) -> str | None:
    text = parse_str(raw)
    return None if text == "all" else text


PARSERS: dict[str, Callable[[object], Any]] = {
    "name": _name,
    "kind": choice(*KINDS),
    "to": _recipients,
    "cooldown": _duration(0, 90 * DAY),
    "quiet_hours": _quiet,
    "timezone": _zone,
    "enabled": parse_bool,
    "dyad": _dyad,
    "actors": _ids,
    "categories": _ids,
    "measure": choice("net", "escalation", "items"),
    "min_items": int_range(1, 10_000),
    "threshold": _number(0.5, 20),
    "baseline_days": int_range(7, 365),
    "lookback_days": int_range(1, 31),
    "unit": choice("item", "story"),
    "normalised": parse_bool,
    "count": int_range(1, 100_000),
    "window": _duration(60, 31 * DAY),
    "max_age": _duration(60, 365 * DAY),
    "feed": _feed,
    "period": _duration(60, 31 * DAY),
    "every": choice("daily", "weekly"),
    "at": _clock,
    "weekday": lambda raw: WEEKDAYS.index(choice(*WEEKDAYS)(raw)),
    "dyads": _dyads,
    "top": int_range(1, 100),
}


def parse_rule(table: Mapping[str, Any], where: str, index: int) -> AlertRule:
    """One ``[[alerts]]`` table, checked key by key."""
    label = f"alerts[{index}]"
    if isinstance(table.get("name"), str):
        label += f" ({table['name']})"

    def fail(key: str, reason: str, value: object = None, shown: bool = True) -> AlertError:
        value_text = f" = {value!r}" if shown else ""
        return AlertError(f"{where}: {label}: {key}{value_text}: {reason}")

    for key in ("name", "kind"):
        if key not in table:
            raise fail(key, f"missing: every alert needs a {key}", shown=False)
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in PARSERS:
            raise fail(key, "unknown key; see docs/alerts.md", raw)
        try:
            values[key] = PARSERS[key](raw)
        except Invalid as e:
            raise fail(key, str(e), raw) from None
    kind = values["kind"]
    allowed = COMMON_KEYS | KIND_KEYS[kind]
    for key in table:
        if key not in allowed:
            keys = ", ".join(sorted(KIND_KEYS[kind]))
            raise fail(key, f"not a key of a {kind} rule (its own keys: {keys})", table[key])
    if kind in ("match", "threshold", "spike") and not FILTER_KEYS & set(values):
        raise fail("dyad", f"a {kind} rule needs a dyad, actors or categories", shown=False)
    values.setdefault("cooldown", DEFAULT_COOLDOWN[kind])
    rule = AlertRule(**values)
    if rule.uses_aggregates and rule.aggregate_key() is None:
        raise fail(
            "unit" if rule.unit == "story" else "normalised",
            "stories and normalised series exist for a dyad, one actor or one category, "
            "or a dyad and one category",
            table.get("unit", table.get("normalised")),
        )
    if rule.normalised and rule.measure == "items":
        raise fail("measure", "a normalised series is an index: use net or escalation", "items")
    return rule


def parse_rules(tables: Sequence[Mapping[str, Any]], where: str) -> tuple[AlertRule, ...]:
    """Every table, in order; names must be unique."""
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        rule = parse_rule(table, where, index)
        if rule.name in seen:
            raise AlertError(
                f"{where}: alerts[{index}] ({rule.name}): name = {rule.name!r}: "
                "used twice: every alert needs its own name"
            )
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def find_rule(rules: Sequence[AlertRule], name: str) -> AlertRule:
    for rule in rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in rules) or "none"
    raise AlertError(f"no alert rule named {name!r} (configured: {known})")
