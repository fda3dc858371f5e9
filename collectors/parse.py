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
unreadable. ``ParsedFeed.title`` keeps its markup too.
"""

from __future__ import annotations

import io
import re
import time
import xml.sax
from datetime import UTC, datetime
from typing import Any

import feedparser

from model import FetchResult, ParsedEntry, ParsedFeed, ParseError

_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
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
    parsed = feedparser.parse(
        io.BytesIO(result.body),
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
        if isinstance(parsed, time.struct_time):
            when = _utc(parsed)
            if when is not None:
                return when, raw
    return None, next((raw for raw in raws if raw), "")


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
