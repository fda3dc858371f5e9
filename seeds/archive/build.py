"""Build the bundled offline archive feeds from their JSON Lines sources.

Run ``python seeds/archive/build.py``. For every feed in ``archive.toml`` the
script reads ``sources/<slug>.jsonl`` (``<slug>`` is the feed's ``url``
without its extension) and writes the feed file named by ``url`` next to
``archive.toml``: RSS 2.0 for ``.xml``, Atom 1.0 for ``.atom``.

Contract:

- Each source line is one JSON object with exactly the keys ``published``
  (ISO-8601 UTC, ``2021-08-24T19:05:00Z``), ``title``, ``summary`` and
  ``link`` (starting with ``https://<slug>.example/``); links are unique
  within a source.
- Every source is validated before anything is written. On a bad line the
  script prints ``file:line: what is wrong`` on stderr for each problem and
  exits with status 1, leaving the feed files untouched.
- A feed whose source is missing is skipped with a note on stderr; a source
  with no feed in ``archive.toml`` is reported the same way.
- Output is deterministic (entries newest first, ties broken by link, feed
  dates taken from the newest entry, never from the clock), so running the
  script twice gives identical bytes.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

ARCHIVE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = ARCHIVE_DIR / "archive.toml"
SOURCES_DIR = ARCHIVE_DIR / "sources"

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REQUIRED_KEYS = ("published", "title", "summary", "link")
PUBLISHED_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
ARCHIVE_SUFFIX = " (archive)"

# Atom is the default namespace of its documents, not an "ns0:" prefix.
ET.register_namespace("", ATOM_NS)


class SourceError(Exception):
    """One or more bad lines in a source; each message is ``file:line: problem``."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class FeedSpec:
    """One ``[[feeds]]`` table of ``archive.toml``."""

    output: str
    name: str
    lang: str

    @property
    def slug(self) -> str:
        return Path(self.output).stem

    @property
    def title(self) -> str:
        return self.name.removesuffix(ARCHIVE_SUFFIX)

    @property
    def site(self) -> str:
        return f"https://{self.slug}.example/"


@dataclass(frozen=True)
class SourceItem:
    """One validated line of a source file."""

    published: datetime
    title: str
    summary: str
    link: str


def load_feed_specs(path: Path) -> list[FeedSpec]:
    with path.open("rb") as f:
        config = tomllib.load(f)
    specs = []
    for index, table in enumerate(config.get("feeds", []), start=1):
        missing = [key for key in ("url", "name", "lang") if not isinstance(table.get(key), str)]
        if missing:
            raise SourceError(
                [f"{shown(path)}: feed #{index}: missing or non-string {', '.join(missing)}"]
            )
        specs.append(FeedSpec(output=table["url"], name=table["name"], lang=table["lang"]))
    return specs


def parse_published(value: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``; raise ValueError on anything else."""
    if not PUBLISHED_RE.fullmatch(value):
        raise ValueError(f"published {value!r} is not ISO-8601 UTC like 2021-08-24T19:05:00Z")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as e:
        raise ValueError(f"published {value!r} is not a real date and time: {e}") from e
    return parsed.replace(tzinfo=UTC)


def parse_line(text: str, slug: str) -> SourceItem:
    """Validate one source line; raise ValueError naming what is wrong."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from e
    if not isinstance(record, dict):
        raise ValueError("line is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise ValueError(f"missing key(s): {', '.join(missing)}")
    unknown = sorted(set(record) - set(REQUIRED_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(unknown)}")
    for key in REQUIRED_KEYS:
        value = record[key]
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-empty string")
        if value != value.strip():
            raise ValueError(f"{key} has leading or trailing whitespace")
    prefix = f"https://{slug}.example/"
    link = record["link"]
    if not link.startswith(prefix) or len(link) == len(prefix):
        raise ValueError(f"link {link!r} must start with {prefix} and name an article")
    return SourceItem(
        published=parse_published(record["published"]),
        title=record["title"],
        summary=record["summary"],
        link=link,
    )


def shown(path: Path) -> str:
    """The path as the user typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_source(path: Path, slug: str) -> list[SourceItem]:
    """Read and validate a whole source, collecting every problem before failing."""
    items: list[SourceItem] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        where = f"{shown(path)}:{number}"
        if not text.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            item = parse_line(text, slug)
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        if item.link in first_seen:
            errors.append(
                f"{where}: duplicate link {item.link} (first on line {first_seen[item.link]})"
            )
            continue
        first_seen[item.link] = number
        items.append(item)
    if not items and not errors:
        errors.append(f"{shown(path)}:1: source has no items")
    if errors:
        raise SourceError(errors)
    return sorted(items, key=lambda item: (item.published, item.link), reverse=True)


def rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def build_rss(spec: FeedSpec, items: list[SourceItem]) -> ET.Element:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", spec.title)
    sub(channel, "link", spec.site)
    sub(channel, "description", f"{spec.title}: archived items bundled with tensionwatch")
    sub(channel, "language", spec.lang)
    sub(channel, "lastBuildDate", rfc822(items[0].published))
    for item in items:
        element = sub(channel, "item")
        sub(element, "title", item.title)
        sub(element, "link", item.link)
        sub(element, "guid", item.link, isPermaLink="true")
        sub(element, "pubDate", rfc822(item.published))
        sub(element, "description", item.summary)
    return rss


def build_atom(spec: FeedSpec, items: list[SourceItem]) -> ET.Element:
    def atom(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        return sub(parent, f"{{{ATOM_NS}}}{tag}", text, **attrs)

    feed = ET.Element(f"{{{ATOM_NS}}}feed", {XML_LANG: spec.lang})
    atom(feed, "id", spec.site)
    atom(feed, "title", spec.title)
    atom(feed, "updated", rfc3339(items[0].published))
    atom(feed, "link", rel="alternate", href=spec.site)
    author = atom(feed, "author")
    atom(author, "name", spec.title)
    for item in items:
        entry = atom(feed, "entry")
        atom(entry, "id", item.link)
        atom(entry, "title", item.title)
        atom(entry, "link", rel="alternate", href=item.link)
        atom(entry, "published", rfc3339(item.published))
        atom(entry, "updated", rfc3339(item.published))
        atom(entry, "summary", item.summary, type="text")
    return feed


def serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"


def build_feed(spec: FeedSpec, items: list[SourceItem]) -> bytes:
    suffix = Path(spec.output).suffix
    if suffix == ".xml":
        return serialise(build_rss(spec, items))
    if suffix == ".atom":
        return serialise(build_atom(spec, items))
    raise SourceError([f"{shown(CONFIG_PATH)}: feed {spec.output}: unknown extension {suffix!r}"])


def build_archive() -> list[Path]:
    """Validate every source, then write every feed that has one."""
    specs = load_feed_specs(CONFIG_PATH)
    known = {spec.slug for spec in specs}
    for orphan in sorted(SOURCES_DIR.glob("*.jsonl")):
        if orphan.stem not in known:
            print(
                f"note: {shown(orphan)} has no feed in {CONFIG_PATH.name}; ignored", file=sys.stderr
            )
    planned: list[tuple[FeedSpec, list[SourceItem]]] = []
    errors: list[str] = []
    for spec in specs:
        source = SOURCES_DIR / f"{spec.slug}.jsonl"
        if not source.is_file():
            print(f"note: {shown(source)} is missing; skipping {spec.output}", file=sys.stderr)
            continue
        try:
            planned.append((spec, read_source(source, spec.slug)))
        except SourceError as e:
            errors.extend(e.messages)
    if errors:
        raise SourceError(errors)
    written = []
    for spec, items in planned:
        target = ARCHIVE_DIR / spec.output
        target.write_bytes(build_feed(spec, items))
        written.append(target)
    return written


def main() -> int:
    try:
        written = build_archive()
    except SourceError as e:
        for message in e.messages:
            print(message, file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
