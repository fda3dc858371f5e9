"""Parsing a fetched body into a ``ParsedFeed`` with feedparser.

feedparser only ever gets the bytes (``io.BytesIO``) and headers, never a
URL or a string, so it does no I/O of its own. The headers it sees are
rewritten on purpose:

- ``content-type`` becomes ``application/xml`` with the server's charset
  parameter, if any. Feeds are commonly served as ``text/xml`` without a
  charset, ``text/html`` or ``application/octet-stream``; RFC 3023 would
  then force us-ascii and report every such feed as repaired. This way the
  order is the server's charset, then the XML declaration or BOM, then
  UTF-8, and a warning means the bytes really contradicted what was declared.
- ``content-location`` is the final URL (unless the server sent one), the
  base that relative links are resolved against, before any ``xml:base``.

Outcomes:

- a feed (RSS 0.9x/1.0/2.0 or Atom), possibly with no entries: a
  ``ParsedFeed``; if feedparser had to repair it (wrong charset, ill-formed
  XML parsed leniently...), ``warning`` says what, with the exception class;
- a body with no entries that feedparser could not recognise as a feed (an
  HTML page, an image, JSON, empty, garbage): ``ParseError`` saying what it
  looks like.

Entries keep their markup, unsanitised (``collectors.normalise`` makes plain
text of it with nh3). An entry's language is its own (``dc:language``,
``xml:lang``), else inherited by feedparser.
Dates: feedparser's parsed ``published``, else ``updated``, as UTC, with the
raw string kept; a date feedparser could not read, or an impossible one, is
``None`` with the raw string kept, so normalise can tell missing from
unreadable. feedparser rolls some impossible dates over into real ones
(``2024-13-45`` becomes 2025-01-01), so the fields of an ISO 8601 or RFC 822
date are checked here first. ``ParsedFeed.title`` keeps its markup too.

Encodings: feedparser re-decodes a whole UTF-8 feed as windows-1252 when a
single byte is not UTF-8, garbling every non-ASCII character. When the
declared encoding (HTTP charset, else XML declaration, else the UTF-8
default) is UTF-8 and the body holds more valid multi-byte UTF-8 characters
than invalid sequences, the body is a damaged UTF-8 feed: each invalid
sequence becomes U+FFFD, the rest stays intact, and the warning says how
many were replaced. A body with more invalid sequences than valid ones is
really in another encoding and left to feedparser's fallback.

A bare ``&`` (not starting an entity or character reference) outside
CDATA sections is escaped before parsing: feedparser's lenient parser would
otherwise turn "AT&T" into "AT&T;". The warning counts them.

JSON Feed (https://jsonfeed.org, versions 1 and 1.1) is read here, without
feedparser: ``items`` with ``id``, ``url``, ``title``, ``content_html`` or
``content_text`` or ``summary``, ``date_published`` or ``date_modified``
and ``language``. Any other JSON is not a feed.
"""

from __future__ import annotations

import io
import json
import re
import time
import xml.sax
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from collectors.fastparse import parse_fast
from model import FetchResult, ParsedEntry, ParsedFeed, ParseError

_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_XML_ENCODING = re.compile(rb"""\s*(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""")
_BARE_AMPERSAND = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)", re.DOTALL
)
_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_RFC822_DATE = re.compile(
    r"(\d{1,2})\s+([A-Za-z]{3,})\.?\s+(\d{4}|\d{2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data the server did not label as compressed"),
)


def parse_feed(result: FetchResult) -> ParsedFeed:
    """The feed in ``result.body``; raises ``ParseError`` when it holds no feed at all."""
    fast = parse_fast(result)
    if fast is not None:
        feed_fields, fast_entries = fast
        return ParsedFeed(
            title=_text(feed_fields.get("title")),
            lang=_text(feed_fields.get("language")),
            entries=tuple(_entry(e) for e in fast_entries),
            ttl_seconds=_ttl_seconds(feed_fields.get("ttl")),
        )
    return parse_slow(result)


def parse_slow(result: FetchResult) -> ParsedFeed:
    """``parse_feed`` without the fast path: JSON Feed, else feedparser."""
    json_feed = _json_feed(result)
    if json_feed is not None:
        return json_feed
    body, repaired = _repair_utf8(result)
    body, ampersands = _escape_bare_ampersands(body)
    if ampersands:
        note = f"{ampersands} unescaped & escaped"
        repaired = f"{repaired}; {note}" if repaired else note
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=_headers_for(result),
        # nh3 makes plain text of it all in normalise; feedparser's own sanitiser
        # would only strip tags early (keeping iframe fallback text, gluing words).
        sanitize_html=False,
        resolve_relative_uris=False,  # inside HTML content; entry links are still resolved
    )
    entries = [dict(e) for e in parsed.get("entries", [])]
    feed: dict[str, Any] = dict(parsed.get("feed", {}))
    version = str(parsed.get("version") or "")
    if not entries and not version:
        raise ParseError(result.final_url, _not_a_feed(result, parsed))
    warning = _warning(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if repaired:
        warning = f"{repaired}; {warning}" if warning else repaired
    return ParsedFeed(
        title=str(feed.get("title") or ""),
        lang=str(feed.get("language") or ""),
        entries=tuple(_entry(e) for e in entries),
        warning=warning,
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
    )


def _headers_for(result: FetchResult) -> dict[str, str]:
    declared = _CHARSET.search(result.headers.get("content-type", ""))
    headers = {
        "content-type": f"application/xml; charset={declared[1]}"
        if declared
        else "application/xml",
        "content-location": result.headers.get("content-location") or result.final_url,
    }
    if "content-language" in result.headers:
        headers["content-language"] = result.headers["content-language"]
    return headers


def _repair_utf8(result: FetchResult) -> tuple[bytes, str | None]:
    """The body with invalid UTF-8 sequences replaced, if it is damaged UTF-8; see above."""
    body = result.body
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or _declared(result) not in ("utf-8", "utf8"):
        return body, None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        invalid = text.count("\ufffd")
        valid = len(_NON_ASCII.findall(text))
        if valid > invalid:
            return text.encode("utf-8"), (
                f"{invalid} invalid UTF-8 byte sequence(s) replaced with U+FFFD; "
                "the rest of the feed is intact"
            )
    return body, None


def _escape_bare_ampersands(body: bytes) -> tuple[bytes, int]:
    """``body`` with each bare ``&`` outside CDATA as ``&amp;``, and how many there were."""
    if b"\0" in body[:4] or b"&" not in body:  # UTF-16/32: leave it to feedparser
        return body, 0
    count = 0

    def escape(match: re.Match[bytes]) -> bytes:
        nonlocal count
        if match[0] != b"&":
            return match[0]
        count += 1
        return b"&amp;"

    escaped = _BARE_AMPERSAND.sub(escape, body)
    return (escaped, count) if count else (body, 0)


def _declared(result: FetchResult) -> str:
    header = _CHARSET.search(result.headers.get("content-type", ""))
    if header:
        return header[1].lower()
    prolog = _XML_ENCODING.match(result.body[:512])
    return prolog[1].decode("ascii").lower() if prolog else "utf-8"


def _json_feed(result: FetchResult) -> ParsedFeed | None:
    """A JSON Feed, or None when the body is not one."""
    head = result.body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{") or b"jsonfeed.org/version/" not in head:
        return None
    try:
        data = json.loads(result.body.decode("utf-8-sig", "replace"))
    except (json.JSONDecodeError, RecursionError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        return None
    items = data.get("items")
    entries = (
        [_json_entry(i, result.final_url) for i in items if isinstance(i, dict)]
        if (isinstance(items, list))
        else []
    )
    return ParsedFeed(
        title=_text(data.get("title")),
        lang=_text(data.get("language")),
        entries=tuple(entries),
        warning=None if isinstance(items, list) else "JSON Feed without an items list",
    )


def _json_entry(item: dict[str, Any], base: str) -> ParsedEntry:
    raw = _text(item.get("date_published")) or _text(item.get("date_modified"))
    published = _rfc3339(raw)
    link = _text(item.get("url")) or _text(item.get("external_url"))
    summary = next(
        (
            _text(item.get(k))
            for k in ("content_html", "content_text", "summary")
            if _text(item.get(k))
        ),
        "",
    )
    guid = item.get("id")
    return ParsedEntry(
        guid=str(guid).strip() or None if isinstance(guid, str | int) else None,
        link=urljoin(base, link) if link else None,
        title=_text(item.get("title")),
        summary=summary,
        published=published,
        lang=_text(item.get("language")),
        published_raw=raw,
    )


def _rfc3339(raw: str) -> datetime | None:
    """JSON Feed dates are RFC 3339; a naive one is taken as UTC."""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _entry(entry: dict[str, Any]) -> ParsedEntry:
    published, raw = _date(entry)
    details = (entry.get("title_detail") or {}, entry.get("summary_detail") or {})
    lang = _text(entry.get("language")) or next(
        (_text(d.get("language")) for d in details if _text(d.get("language"))), ""
    )
    return ParsedEntry(
        guid=_text(entry.get("id")) or None,
        link=_text(entry.get("link")) or None,
        title=_text(entry.get("title")),
        summary=_text(entry.get("summary")) or _first_content(entry),
        published=published,
        lang=lang,
        published_raw=raw,
    )


def _date(entry: dict[str, Any]) -> tuple[datetime | None, str]:
    """Published, else updated: (UTC datetime or None, the raw string)."""
    raws = [_text(entry.get(key)) for key in ("published", "updated")]
    for key, raw in zip(("published_parsed", "updated_parsed"), raws, strict=True):
        parsed = entry.get(key)
        if isinstance(parsed, datetime):  # the fast path's (fastparse.read_date): exact, UTC
            return parsed, raw
        if isinstance(parsed, time.struct_time) and not _impossible(raw):
            when = _utc(parsed)
            if when is not None:
                return when, raw
    return None, next((raw for raw in raws if raw), "")


def _impossible(raw: str) -> bool:
    """True when ``raw`` is an ISO 8601 or RFC 822 date whose fields cannot exist."""
    iso = _ISO_DATE.match(raw)
    if iso:
        y, mo, d, h, mi, s = (int(v) if v else 0 for v in iso.groups())
    else:
        rfc = _RFC822_DATE.search(raw)
        if not rfc:
            return False
        month = _MONTHS.get(rfc[2][:3].lower())
        if month is None:
            return True
        year = int(rfc[3]) + (2000 if len(rfc[3]) == 2 else 0)
        y, mo, d, h, mi, s = year, month, int(rfc[1]), int(rfc[4]), int(rfc[5]), int(rfc[6] or 0)
    try:
        datetime(y, mo, d, h, mi, min(s, 59))
    except ValueError:
        return True
    return False


def _utc(value: time.struct_time) -> datetime | None:
    try:
        return datetime(*value[:5], min(value.tm_sec, 59), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _first_content(entry: dict[str, Any]) -> str:
    for content in entry.get("content") or []:
        value = _text(content.get("value"))
        if value:
            return value
    return ""


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _ttl_seconds(value: object) -> int | None:
    minutes = _text(value)
    return int(minutes) * 60 if minutes.isdigit() and 0 < int(minutes) < 100_000 else None


def _warning(error: object) -> str:
    name = type(error).__name__
    if isinstance(error, xml.sax.SAXParseException):
        where = f"line {error.getLineNumber()}, column {error.getColumnNumber()}"
        return f"not well-formed XML, read leniently ({where}: {error.getMessage()}) [{name}]"
    descriptions = {
        "CharacterEncodingOverride": "wrong character encoding",
        "CharacterEncodingUnknown": "unknown character encoding",
        "NonXMLContentType": "not served as XML",
        "UndeclaredNamespace": "undeclared XML namespace",
    }
    return f"{descriptions.get(name, 'repaired')}: {error} [{name}]"


def _not_a_feed(result: FetchResult, parsed: Any) -> str:
    body = result.body.lstrip(b"\xef\xbb\xbf \t\r\n")
    served = result.headers.get("content-type", "").split(";")[0].strip()
    served = f" (served as {served})" if served else ""
    if not body:
        return f"the body is empty{served}; the server sent no feed"
    head = body[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"not a feed: it looks like {what}{served}"
    if _HTML.search(head):
        title = _HTML_TITLE.search(head)
        named = f" titled {_snippet(title[1])!r}" if title else ""
        return (
            f"not a feed: it looks like an HTML page{named}{served}; the URL may point at a "
            "web page rather than its RSS or Atom feed"
        )
    if head[:1] in (b"{", b"["):
        return f"not a feed: it looks like JSON{served}; only RSS and Atom are read"
    problem = parsed.get("bozo_exception")
    why = f" ({problem})" if problem else ""
    return f"not an RSS or Atom feed{why}{served}; it starts with {_snippet(head)!r}"


def _snippet(data: bytes) -> str:
    text = " ".join(data[:200].decode("utf-8", "replace").split())
    return text[:80]
