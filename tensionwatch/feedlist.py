"""Feed lists: ``[[feeds]]`` tables (config, seeded list, archive) and OPML, both ways.

Each feed is ``url`` (http(s) URL or a local path, relative to the file that
lists it) with optional ``name``, ``country`` (ISO 3166 alpha-2 of the
outlet), ``lang`` (ISO 639-1), ``interval`` and ``enabled``.

OPML: every ``<outline xmlUrl=…>``, in nested folders too; ``title`` (else
``text``) is the name, ``country`` the country, ``language`` (or ``lang``;
"fr-FR" → "fr") the language, ``interval`` (seconds, or "30m") the
interval. ``feeds_to_opml`` writes OPML 2.0 with those same attributes, so
export → import keeps every field; ``feeds_to_toml`` writes ``[[feeds]]``
tables to paste into (or append to) a config file.
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from model import ConfigError, FeedSpec
from tensionwatch.values import parse_duration

FEED_KEYS = {"url", "name", "country", "lang", "interval", "enabled"}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANG = re.compile(r"^[a-z]{2}$")


def load_feed_tables(path: Path, tables: object = None, *, archive: bool = False) -> list[FeedSpec]:
    """Feeds from ``tables`` (already read from ``path``) or from the ``[[feeds]]`` of ``path``."""
    if tables is None:
        try:
            with path.open("rb") as f:
                tables = tomllib.load(f).get("feeds", [])
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(str(path), "feeds", f"cannot read the feed list: {e}") from e
    if not isinstance(tables, list):
        raise ConfigError(str(path), "feeds", "expected [[feeds]] tables", tables, has_value=True)
    return [_feed_from_table(path, i, t, archive=archive) for i, t in enumerate(tables)]


def _feed_from_table(path: Path, index: int, table: object, *, archive: bool) -> FeedSpec:
    where = f"feeds[{index}]"
    if not isinstance(table, Mapping):
        raise ConfigError(
            str(path), where, "expected a table with at least url", table, has_value=True
        )
    unknown = set(table) - FEED_KEYS
    if unknown:
        raise ConfigError(
            str(path),
            f"{where}.{sorted(unknown)[0]}",
            "unknown key; a feed has " + ", ".join(sorted(FEED_KEYS)),
        )
    if "url" not in table:
        raise ConfigError(str(path), f"{where}.url", "missing: every feed needs a url")
    return FeedSpec(
        url=_feed_url(path, f"{where}.url", table["url"]),
        name=_text(path, f"{where}.name", table.get("name", "")),
        country=_code(
            path,
            f"{where}.country",
            table.get("country", ""),
            _COUNTRY,
            "a two-letter ISO 3166 country code in capitals, e.g. MA",
        ),
        lang=_code(
            path,
            f"{where}.lang",
            table.get("lang", ""),
            _LANG,
            "a two-letter ISO 639-1 language code in lower case, e.g. fr",
        ),
        interval=_interval(path, f"{where}.interval", table.get("interval")),
        enabled=_flag(path, f"{where}.enabled", table.get("enabled", True)),
        archive=archive,
    )


def _feed_url(path: Path, key: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(
            str(path), key, "expected an http(s) URL or a file path", raw, has_value=True
        )
    url = raw.strip()
    if url.lower().startswith(("http://", "https://")):
        if any(c.isspace() for c in url) or len(url.split("/", 3)[2]) == 0:
            raise ConfigError(str(path), key, "not a valid URL", raw, has_value=True)
        return url
    if "://" in url or url.lower().startswith(("javascript:", "data:", "file:")):
        raise ConfigError(
            str(path), key, "only http(s) URLs and local file paths are feeds", raw, has_value=True
        )
    local = Path(url).expanduser()
    local = local if local.is_absolute() else path.parent / local
    if not local.is_file():
        raise ConfigError(str(path), key, f"no such file: {local}", raw, has_value=True)
    return str(local.resolve())


def _text(path: Path, key: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ConfigError(str(path), key, "expected a string", raw, has_value=True)
    return raw.strip()


def _code(path: Path, key: str, raw: object, pattern: re.Pattern[str], expected: str) -> str:
    if raw == "":
        return ""
    if not isinstance(raw, str) or not pattern.match(raw):
        raise ConfigError(str(path), key, f"expected {expected}", raw, has_value=True)
    return raw


def _interval(path: Path, key: str, raw: object) -> int | None:
    if raw is None:
        return None
    try:
        return int(parse_duration(raw, low=60, high=7 * 86400))
    except ValueError as e:
        raise ConfigError(str(path), key, str(e), raw, has_value=True) from None


def _flag(path: Path, key: str, raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(str(path), key, "expected true or false", raw, has_value=True)
    return raw


def load_opml(path: Path) -> list[FeedSpec]:
    """Feeds from every ``<outline xmlUrl=…>`` of an OPML file (nested folders included)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise ConfigError(str(path), "feeds_opml", f"cannot read the OPML file: {e}") from e
    tables: list[dict[str, Any]] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        name = outline.get("title") or outline.get("text") or ""
        # An unnamed feed is exported with its URL as the text OPML requires.
        table: dict[str, Any] = {"url": url, "name": "" if name == url else name}
        if outline.get("country"):
            table["country"] = outline.get("country")
        lang = outline.get("language") or outline.get("lang")
        if lang:
            table["lang"] = lang[:2].lower()
        if outline.get("interval"):
            table["interval"] = _opml_interval(outline.get("interval", ""))
        tables.append(table)
    if not tables:
        raise ConfigError(str(path), "feeds_opml", "no <outline xmlUrl=...> feeds in the file")
    return load_feed_tables(path, tables)


def _opml_interval(raw: str) -> int | str:
    return int(raw) if raw.strip().isdigit() else raw.strip()


def feeds_to_opml(specs: Sequence[FeedSpec], title: str = "tensionwatch feeds") -> str:
    """OPML 2.0 listing ``specs``, with their country, language and interval."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for spec in specs:
        outline = ET.SubElement(body, "outline", type="rss", text=spec.name or spec.url)
        if spec.name:
            outline.set("title", spec.name)
        outline.set("xmlUrl", spec.url)
        if spec.country:
            outline.set("country", spec.country)
        if spec.lang:
            outline.set("language", spec.lang)
        if spec.interval:
            outline.set("interval", str(spec.interval))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def feeds_to_toml(specs: Sequence[FeedSpec]) -> str:
    """``[[feeds]]`` tables for ``specs``, ready to paste into a config file."""
    blocks = []
    for spec in specs:
        lines = ["[[feeds]]", f"url = {_toml_string(spec.url)}"]
        for key, value in (("name", spec.name), ("country", spec.country), ("lang", spec.lang)):
            if value:
                lines.append(f"{key} = {_toml_string(value)}")
        if spec.interval:
            lines.append(f"interval = {spec.interval}")
        if not spec.enabled:
            lines.append("enabled = false")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
