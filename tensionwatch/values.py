"""Parsers for configuration values: each returns the parsed value or raises
``Invalid`` with the text of what was expected (the caller adds where)."""

from __future__ import annotations

import re
from collections.abc import Callable


class Invalid(ValueError):
    """Raised by a parser with the text of what was expected."""


def parse_str(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("expected a non-empty string")
    return raw.strip()


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(raw, str) and raw.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise Invalid("expected true or false (in the environment: 1/0, true/false, yes/no)")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(raw: object, *, low: float = 0, high: float = 7 * 86400) -> float:
    """Seconds from a number of seconds or a string like "90s", "15m", "2h", "1d"."""
    if isinstance(raw, bool):
        raise Invalid('expected a duration such as 900, "15m" or "2h"')
    if isinstance(raw, int | float):
        seconds = float(raw)
    elif isinstance(raw, str) and (m := _DURATION.match(raw)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise Invalid('expected a duration such as 900, "15m" or "2h"')
    if not low <= seconds <= high:
        raise Invalid(f"expected a duration between {low:g} and {high:g} seconds")
    return seconds


def int_range(low: int, high: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise Invalid(f"expected a whole number from {low} to {high}")
        return raw

    return parse


def duration_range(low: float, high: float) -> Callable[[object], float]:
    return lambda raw: parse_duration(raw, low=low, high=high)


_SIZE = re.compile(r"^\s*(\d+)\s*(b|kib|mib|gib|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 10**6, "gb": 10**9, "kib": 1024, "mib": 1024**2}


def parse_size(raw: object) -> int:
    size: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        size = raw
    elif isinstance(raw, str) and (m := _SIZE.match(raw)):
        size = int(m.group(1)) * _SIZE_UNITS.get((m.group(2) or "b").lower(), 1024**3)
    if size is None or not 1024 <= size <= 1024**3:
        raise Invalid('expected a size from 1 KiB to 1 GiB, e.g. 10485760 or "10 MiB"')
    return size


def choice(*allowed: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or raw.strip().lower() not in allowed:
            raise Invalid("expected one of " + ", ".join(allowed))
        return raw.strip().lower()

    return parse


def parse_address(raw: object) -> str:
    text = parse_str(raw)
    if "@" not in text or any(c in text for c in "\r\n<>, "):
        raise Invalid("expected an email address such as alerts@example.org")
    return text
