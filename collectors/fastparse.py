"""The fast path: plain, well-formed UTF-8 RSS 2.0 and Atom 1.0 read with lxml.

feedparser reads about 3,000 entries a second and is the parser for every
feed that is odd in any way. Most feeds are not odd; ``parse_fast`` reads
those with lxml (libxml2, without the GIL) and gives the entries feedparser
would have given, or ``None``, meaning "not for the fast path": the caller
then hands the body to feedparser exactly as before. A body is taken only
when all of this holds, and anything else is left to feedparser:

- it is valid UTF-8, and neither the HTTP charset nor the XML declaration
  names another encoding;
- it holds no ``<!DOCTYPE`` or ``<!ENTITY`` (so no entity of any kind, and
  lxml is also told to resolve none, load no DTD and use no network), no
  ``base`` attribute (``xml:base``: links resolve against the feed URL
  only) and no bare ``lang`` attribute;
- lxml's strict parser reads it without a single error (no bare ``&``, no
  undeclared prefix, no control character, nothing truncated);
- the root is ``<rss version="2.0">`` with its items in ``<channel>``, or an
  Atom 1.0 ``<feed>`` with its entries directly inside;
- each item holds only elements from a short list (``ITEM_ELEMENTS``), at
  most one of each that feedparser maps onto an entry field, text-only
  fields without child elements, links and guids without surrounding
  space, Atom text constructs of type ``text`` or ``html`` (never
  ``xhtml``), no Atom ``content`` with ``src``, and no content before the
  summary (feedparser then copies one into the other).

Field by field it follows feedparser's own rules, with feedparser's own
URL joining and date parser (the two common date forms are read by the
standard library, to the same result: ``read_date``): links and permalink
guids are resolved against the feed URL; a permalink guid (or Atom id) is
the link when there is no link element; the last Atom ``alternate`` link of
an HTML type is the link; ``pubDate`` and Atom ``published`` are published,
``dc:date`` and ``updated`` updated; an entry's language is the ``xml:lang``
in scope at its title (else its summary), else the Content-Language header;
the feed's is the channel's ``<language>``, else the root's ``xml:lang``,
else the header. ``tests/test_fastpath.py`` runs both parsers over every
feed of the test corpus and the bundled archive and requires the same
normalised items wherever this path accepts a feed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import uses_relative

from lxml import etree

try:  # feedparser's own rules, so both paths give the same dates and links
    from feedparser.datetimes import _parse_date
    from feedparser.urls import _urljoin
except ImportError:  # a feedparser without them: every body goes to feedparser
    _parse_date = _urljoin = None

from model import FetchResult

CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Elements an item may hold; any other sends the feed to feedparser. The value
# is the entry field feedparser maps it onto (None: not read, and not counted).
ITEM_ELEMENTS: dict[str, str | None] = {
    "title": "title",
    "link": "link",
    "guid": "id",
    "description": "summary",
    "pubDate": "published",
    f"{DC}date": "updated",
    f"{CONTENT}encoded": "content",
    "author": None,
    "category": None,
    "comments": None,
    "enclosure": None,
    f"{DC}creator": None,
    f"{DC}subject": None,
    f"{MEDIA}content": None,
    f"{MEDIA}thumbnail": None,
}
ENTRY_ELEMENTS: dict[str, str | None] = {
    f"{ATOM}title": "title",
    f"{ATOM}link": None,  # several allowed; see _atom_entry
    f"{ATOM}id": "id",
    f"{ATOM}summary": "summary",
    f"{ATOM}content": "content",
    f"{ATOM}published": "published",
    f"{ATOM}updated": "updated",
    f"{ATOM}author": None,
    f"{ATOM}contributor": None,
    f"{ATOM}category": None,
    f"{ATOM}rights": None,
}
# Elements that may have children: authors have name/email/uri.
WITH_CHILDREN = frozenset({f"{ATOM}author", f"{ATOM}contributor"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""\s*(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""")
# xml:base and base in any namespace, and a bare lang (feedparser reads it as xml:lang)
_ODD_ATTRIBUTES = etree.XPath("//@*[local-name() = 'base'] | //@lang")
_ENTITY_LIKE = re.compile(r"&([A-Za-z0-9_]+);")
_UTF8 = frozenset({"utf-8", "utf8"})
# http(s)://, a host part of printable ASCII but / ? # [ ] \ ;, then no space, control or ;
_PLAIN_URL = re.compile(r'https?://[!"$-.0-:<->@-Z^-~]+(?:[/?#][^\x00-\x20;]*)?')
# scheme:rest with a lower-case scheme and no "/" after it, printable ASCII only: an
# Atom id such as tag:... or urn:uuid:..., which urljoin gives back as it is unless
# the scheme is one it resolves against (urllib's uses_relative).
_OPAQUE_URI = re.compile(r"([a-z][a-z0-9+.-]*):(?!/)[!-~]*")

# The two date forms nearly every feed uses, read by the standard library in a tenth of
# the time feedparser takes to try its handlers in turn (and parse._impossible to check
# the fields after it): RFC 3339, as Atom requires, and RFC 822 as RSS uses it, with a
# four-digit year from 1900 to 2099 (email.utils reads 0099 as 1999) and a numeric, GMT
# or UT zone ("-0000" means "unknown" to email.utils and is left to feedparser).
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)")
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d\d? "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?:19|20)\d\d "
    r"\d\d:\d\d:\d\d (?:[+-]\d\d[0-5]\d|GMT|UT)"
)

_parsers = threading.local()


class NotForFastPath(Exception):
    """Raised inside this module when feedparser must read the body; never escapes."""


def parse_fast(result: FetchResult) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(feed fields, entries) shaped as feedparser's, or None for feedparser to read."""
    body = result.body
    if _parse_date is None or _urljoin is None:
        return None
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or not _plain_utf8(result):
        return None
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError:
        return None
    if (root.getroottree().docinfo.encoding or "").lower() not in _UTF8 or _ODD_ATTRIBUTES(root):
        return None
    base = result.headers.get("content-location") or result.final_url
    header_lang = result.headers.get("content-language") or None
    try:
        if root.tag == "rss" and root.get("version") == "2.0":
            return _rss(root, base, header_lang)
        if root.tag == f"{ATOM}feed":
            return _atom(root, base, header_lang)
    except NotForFastPath:
        return None
    return None


def _parser() -> etree.XMLParser:
    # lxml serialises parses that share a parser object: one per thread.
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            recover=False,
            collect_ids=False,
        )
        _parsers.parser = parser
    return parser


def _plain_utf8(result: FetchResult) -> bool:
    header = _CHARSET.search(result.headers.get("content-type", "").encode("latin-1", "replace"))
    if header and header[1].decode("ascii").lower() not in _UTF8:
        return False
    prolog = _XML_ENCODING.match(result.body[:512])
    if prolog and prolog[1].decode("ascii").lower() not in _UTF8:
        return False
    if b"\0" in result.body:  # UTF-16 or UTF-32 without a BOM, or binary
        return False
    try:
        result.body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _rss(
    root: Any, base: str, header_lang: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    channel = root.find("channel")
    if channel is None or len(root) != 1:
        raise NotForFastPath
    items = channel.findall("item")
    if sum(1 for _ in root.iter("item")) != len(items):
        raise NotForFastPath  # items outside the channel, or nested
    feed = {
        "title": _only_text(channel.find("title")),
        "language": _only_text(channel.find("language")) or _root_lang(root, header_lang),
        "ttl": _only_text(channel.find("ttl")),
    }
    outer = _lang_in_scope(channel, header_lang)
    return feed, [_rss_item(item, base, outer) for item in items]


def _atom(
    root: Any, base: str, header_lang: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    entries = root.findall(f"{ATOM}entry")
    if sum(1 for _ in root.iter(f"{ATOM}entry")) != len(entries):
        raise NotForFastPath
    feed = {
        "title": _text_construct(root.find(f"{ATOM}title")),
        "language": _root_lang(root, header_lang),
        "ttl": "",
    }
    outer = _lang_in_scope(root, header_lang)
    return feed, [_atom_entry(entry, base, outer) for entry in entries]


def _rss_item(item: Any, base: str, outer_lang: str | None) -> dict[str, Any]:
    fields = _fields(item, ITEM_ELEMENTS)
    entry: dict[str, Any] = {}
    guid = fields.get("id")
    if guid is not None:
        permalink = guid.get("isPermaLink", "true") == "true"
        entry["id"] = _uri(base, guid) if permalink else _only_text(guid)
        if permalink and "link" not in fields:
            entry["link"] = entry["id"]
    if "link" in fields:
        entry["link"] = _link_text(_uri(base, fields["link"]))
    _common(entry, fields, _lang_within(item, outer_lang), _only_text)
    if "summary" in fields:
        entry["summary"] = _only_text(fields["summary"])
    return entry


def _atom_entry(element: Any, base: str, outer_lang: str | None) -> dict[str, Any]:
    fields = _fields(element, ENTRY_ELEMENTS)
    entry: dict[str, Any] = {}
    for link in element.iterfind(f"{ATOM}link"):
        href = link.get("href")
        if href is None:
            raise NotForFastPath
        rel = link.get("rel", "alternate")
        kind = link.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and kind in HTML_TYPES:
            entry["link"] = join_url(base, href)
    if "id" in fields:
        entry["id"] = _uri(base, fields["id"])
        entry.setdefault("link", entry["id"])
    _common(entry, fields, _lang_within(element, outer_lang), _text_construct)
    if "summary" in fields:
        entry["summary"] = _text_construct(fields["summary"])
    if "content" in fields and fields["content"].get("src") is not None:
        raise NotForFastPath
    return entry


def _common(
    entry: dict[str, Any],
    fields: dict[str, Any],
    entry_lang: str | None,
    text: Callable[[Any], str],
) -> None:
    """Title, content, dates and language, the same for RSS and Atom (``entry_lang``:
    the language in scope at the entry element)."""
    if "title" in fields:
        entry["title"] = text(fields["title"])
    if "content" in fields:
        entry["content"] = [{"value": text(fields["content"])}]
    parsed: dict[str, Any] = {}  # an Atom entry's updated is often its published: read once
    for key in ("published", "updated"):
        if key in fields:
            raw = _only_text(fields[key])
            entry[key] = raw
            if raw not in parsed:
                parsed[raw] = read_date(raw) if raw else None
            entry[f"{key}_parsed"] = parsed[raw]
    details = [fields[k] for k in ("title", "summary") if k in fields]
    entry["language"] = next(
        (lang for lang in (_lang_within(d, entry_lang) for d in details) if lang), ""
    )


def read_date(raw: str) -> datetime | time.struct_time | None:
    """A date as ``parse._date`` will take it: for an RFC 3339 or RFC 822 date (see
    ``_RFC3339``, ``_RFC822``) whose fields exist, the UTC datetime, whole seconds,
    that feedparser's reading gives (``tests/test_fastpath.py`` compares the two);
    for any other, feedparser's own ``struct_time`` (or None), checked there."""
    try:
        if _RFC3339.fullmatch(raw):
            return datetime.fromisoformat(raw).astimezone(UTC).replace(microsecond=0)
        if _RFC822.fullmatch(raw):
            return parsedate_to_datetime(raw).astimezone(UTC)
    except (ValueError, OverflowError):
        pass  # a day, hour or offset that cannot exist: feedparser's answer, checked there
    parsed: time.struct_time | None = _parse_date(raw)  # feedparser: untyped
    return parsed


def _fields(element: Any, allowed: dict[str, str | None]) -> dict[str, Any]:
    """An entry's child elements by field, refusing anything the fast path does not read."""
    fields: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag not in allowed:
            raise NotForFastPath  # a comment, a processing instruction, an unknown element
        if len(child) and tag not in WITH_CHILDREN:
            raise NotForFastPath
        key = allowed[tag]
        if key is None:
            continue
        if key in fields:
            raise NotForFastPath  # feedparser's answer depends on the order of the two
        if key == "summary" and "content" in fields:
            raise NotForFastPath
        fields[key] = child
    return fields


def _only_text(element: Any) -> str:
    if element is None:
        return ""
    if len(element):
        raise NotForFastPath
    return str(element.text or "")


def _text_construct(element: Any) -> str:
    if element is None:
        return ""
    if element.get("type", "text") not in ("text", "html"):
        raise NotForFastPath  # xhtml, or a MIME type
    return _only_text(element)


def _uri(base: str, element: Any) -> str:
    value = _only_text(element)
    if value != value.strip() or not value:
        raise NotForFastPath
    return join_url(base, value)


def join_url(base: str, value: str) -> str:
    """feedparser's ``_urljoin(base, value)``, without its cost (a fifth of the fast
    path's) when it would give ``value`` back unchanged: an absolute http(s) URL with
    a lower-case scheme and nothing that urllib's split and join would drop or
    rewrite (spaces, controls, brackets, ";" params, a bare "?" or "#"), or an
    ``_OPAQUE_URI`` such as an Atom ``tag:`` id."""
    if _PLAIN_URL.fullmatch(value) and "?#" not in value and value[-1] not in "?#":
        return value
    opaque = _OPAQUE_URI.fullmatch(value)
    if opaque and opaque[1] not in uses_relative:
        return value
    return str(_urljoin(base, value))


def _link_text(value: str) -> str:
    # What feedparser does to every entry <link> (its fix for badly escaped queries).
    return _ENTITY_LIKE.sub(r"&\g<1>", value.replace("&amp;", "&"))


def _lang_in_scope(element: Any, header_lang: str | None) -> str | None:
    node = element
    while node is not None:
        lang = node.get(XML_LANG)
        if lang is not None:
            return lang or None
        node = node.getparent()
    return header_lang


def _lang_within(element: Any, outer_lang: str | None) -> str | None:
    """``_lang_in_scope(element, ...)`` when ``outer_lang`` is that of its parent: one
    attribute read per element instead of a walk up to the root."""
    lang = element.get(XML_LANG)
    if lang is not None:
        return lang or None
    return outer_lang


def _root_lang(root: Any, header_lang: str | None) -> str:
    lang = _lang_in_scope(root, header_lang)
    return lang.replace("_", "-") if lang else ""
