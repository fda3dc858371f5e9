"""Parsing and normalising: the feed corpus in tests/feeds, then the helpers one by one.

Each ``tests/feeds/<case>.xml`` is a body as fetched; ``<case>.json`` holds
what should come of it: ``description``; optional ``fetch`` (``feed_url``,
``headers``, ``fetched``, ``default_lang``); then either ``error_contains``
(parse_feed raises ParseError with that text) or ``feed`` (``title``,
``lang``, ``ttl_seconds``, ``warning_contains`` or null) and ``items``, the
normalised items in order, every field but ``feed_url`` and ``fetched``.
A regression is one new pair of files.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.identity import canonical_url, item_id
from collectors.normalise import SUMMARY_MAX_CHARS, normalise_entries, to_plain_text
from collectors.parse import parse_feed
from model import FetchResult, ParsedEntry, ParsedFeed, ParseError

FEEDS = Path(__file__).parent / "feeds"
FEED_URL = "https://news.example.org/feed.xml"
FETCHED = "2025-06-01T12:00:00+00:00"
NOW = datetime.fromisoformat(FETCHED)


def fetched_body(body: bytes, url: str = FEED_URL, headers: dict[str, str] | None = None) -> Any:
    return FetchResult(url, url, None, 200, body, headers or {})


def item_as_json(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "url": item.url,
        "guid": item.guid,
        "title": item.title,
        "summary": item.summary,
        "published": item.published.isoformat(),
        "lang": item.lang,
        "flags": list(item.flags),
    }


def test_corpus_files_come_in_pairs() -> None:
    xml = {p.stem for p in FEEDS.glob("*.xml")}
    expected = {p.stem for p in FEEDS.glob("*.json")}
    assert xml == expected and len(xml) >= 20


@pytest.mark.parametrize("case", sorted(FEEDS.glob("*.json")), ids=lambda p: p.stem)
def test_corpus(case: Path) -> None:
    spec = json.loads(case.read_text(encoding="utf-8"))
    fetch = spec.get("fetch", {})
    feed_url = fetch.get("feed_url", FEED_URL)
    result = fetched_body(case.with_suffix(".xml").read_bytes(), feed_url, fetch.get("headers"))
    if "error_contains" in spec:
        with pytest.raises(ParseError) as info:
            parse_feed(result)
        assert spec["error_contains"] in str(info.value)
        assert info.value.url == feed_url
        return
    parsed = parse_feed(result)
    feed = spec["feed"]
    assert (parsed.title, parsed.lang, parsed.ttl_seconds) == (
        feed["title"],
        feed["lang"],
        feed["ttl_seconds"],
    )
    if feed["warning_contains"] is None:
        assert parsed.warning is None
    else:
        assert parsed.warning is not None and feed["warning_contains"] in parsed.warning
    fetched = datetime.fromisoformat(fetch.get("fetched", FETCHED))
    items = normalise_entries(feed_url, parsed, fetched, fetch.get("default_lang", ""))
    assert [item_as_json(i) for i in items] == spec["items"]
    assert all(i.feed_url == feed_url and i.fetched == fetched for i in items)


# parse_feed beyond the corpus


def test_content_location_header_is_the_base_for_relative_links() -> None:
    body = (FEEDS / "relative-links-rss.xml").read_bytes()
    headers = {"content-location": "https://mirror.example.net/x/feed.xml"}
    parsed = parse_feed(fetched_body(body, headers=headers))
    assert parsed.entries[1].link == "https://mirror.example.net/x/story-2.html"


def test_json_other_than_json_feed_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="looks like JSON"):
        parse_feed(fetched_body(b'{"version": "2.0", "items": []}'))


def test_json_feed_is_read() -> None:
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J", "language": "fr",
      "items": [{"id": "1", "url": "/a", "title": "T", "content_html": "<p>x</p>",
                 "date_published": "2025-05-01T10:00:00+02:00"}, "junk"]}"""
    parsed = parse_feed(fetched_body(body))
    assert (parsed.title, parsed.lang, len(parsed.entries)) == ("J", "fr", 1)
    entry = parsed.entries[0]
    assert entry.link == "https://news.example.org/a" and entry.guid == "1"
    assert entry.published == datetime(2025, 5, 1, 8, tzinfo=UTC)


def test_whitespace_only_body_is_empty() -> None:
    with pytest.raises(ParseError, match="the body is empty"):
        parse_feed(fetched_body(b"\xef\xbb\xbf \n\t "))


def test_feed_served_as_text_xml_without_charset_is_not_a_warning() -> None:
    body = (FEEDS / "rss20.xml").read_bytes()  # UTF-8 with accents
    parsed = parse_feed(fetched_body(body, headers={"content-type": "text/xml"}))
    assert parsed.warning is None and "à l'ONU" in parsed.entries[0].title


def test_feed_served_as_text_html_is_still_read() -> None:
    body = (FEEDS / "atom.xml").read_bytes()
    parsed = parse_feed(fetched_body(body, headers={"content-type": "text/html"}))
    assert parsed.warning is None and len(parsed.entries) == 3


def test_updated_is_used_when_published_is_unreadable() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><id>x</id><title>e</title><published>not a date</published>
    <updated>2025-05-01T10:00:00Z</updated></entry></feed>"""
    entry = parse_feed(fetched_body(body)).entries[0]
    assert entry.published == datetime(2025, 5, 1, 10, tzinfo=UTC)
    assert entry.published_raw == "2025-05-01T10:00:00Z"


# normalise_entries beyond the corpus


def entry(**fields: Any) -> ParsedEntry:
    base = ParsedEntry(guid=None, link=None, title="t", summary="", published=NOW)
    return replace(base, **fields)


def normalise(*entries: ParsedEntry, lang: str = "", default_lang: str = "") -> Any:
    return normalise_entries(FEED_URL, ParsedFeed("f", lang, entries), NOW, default_lang)


@pytest.mark.parametrize(
    ("entry_lang", "feed_lang", "default", "expected"),
    [
        ("ar-MA", "fr", "en", "ar"),
        ("", "FR_fr", "en", "fr"),
        ("", "", "EN", "en"),
        ("", "", "", ""),
        ("english", "x-klingon", "", ""),
        ("eng", "", "es", "es"),
    ],
)
def test_language_entry_then_feed_then_default(
    entry_lang: str, feed_lang: str, default: str, expected: str
) -> None:
    [item] = normalise(entry(lang=entry_lang), lang=feed_lang, default_lang=default)
    assert item.lang == expected


def test_long_summary_cut_at_a_word() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    [item] = normalise(entry(summary=f"<p>{words}</p>"))
    assert len(item.summary) <= SUMMARY_MAX_CHARS and item.summary.endswith("…")
    assert item.summary[:-1].split()[-1].startswith("word")
    assert words.startswith(item.summary[:-1])


def test_naive_fetch_time_is_taken_as_utc() -> None:
    items = normalise_entries(
        FEED_URL, ParsedFeed("f", "", (entry(published=None),)), datetime(2025, 6, 1, 12), ""
    )
    assert items[0].published == NOW and items[0].fetched.tzinfo is not None


def test_future_date_keeps_the_id_it_was_seen_with() -> None:
    future = NOW + timedelta(days=3)
    [a] = normalise(entry(published=future, published_raw="x"))
    [b] = normalise_entries(
        FEED_URL,
        ParsedFeed("f", "", (entry(published=future, published_raw="x"),)),
        NOW + timedelta(days=1),
    )
    assert a.id == b.id and a.published != b.published and a.flags == b.flags == ("date_future",)


# to_plain_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>two<br>three</p><ul><li>four</li></ul>", "One two three four"),
        ("Mor<b>oc</b>co", "Morocco"),
        ("<script>alert(1)</script><style>p{}</style>kept", "kept"),
        ("<iframe src=x>fallback</iframe><object>flash</object><svg><text>s</text></svg>ok", "ok"),
        ("<img src=x onerror=alert(1)><a href='javascript:x' onclick='y'>link</a>", "link"),
        ("<!-- a comment -->text<![CDATA[x]]>", "text"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Hi", "Hi"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),
        ("AT&amp;T &eacute;t&#233; &#x2014; &nbsp;x", "AT&T été — x"),
        ("a < b and c > d, <- arrows ->", "a < b and c > d, <- arrows ->"),
        ("nul\x00l byte\x07 bell\x7f del\x85 c1 \ufeffbom", "null byte bell del c1 bom"),
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 after", "link after"),
        ("8-bit \x9b1;31mCSI", "8-bit CSI"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("  lots\n\n of\t\r whitespace\u00a0\u2003here  ", "lots of whitespace here"),
        ("", ""),
    ],
)
def test_to_plain_text(html: str, text: str) -> None:
    assert to_plain_text(html) == text


# canonical_url and item_id


@pytest.mark.parametrize(
    ("link", "base", "url"),
    [
        ("HTTP://Example.COM:80/a/B?x=1#top", None, "http://example.com/a/B?x=1"),
        ("https://example.com", None, "https://example.com/"),
        ("https://example.com:8443/x", None, "https://example.com:8443/x"),
        ("https://example.com/?utm_source=a&fbclid=b", None, "https://example.com/"),
        ("https://example.com/?b=2&utm_term=x&a=1", None, "https://example.com/?b=2&a=1"),
        ("https://example.com/?q=a%20b&Ref=x", None, "https://example.com/?q=a%20b"),
        ("story.html", "https://example.com/feeds/rss", "https://example.com/feeds/story.html"),
        ("/story.html", "https://example.com/feeds/rss", "https://example.com/story.html"),
        ("https://user:pw@example.com/", None, "https://example.com/"),
        ("http://[2001:db8::1]:8080/x", None, "http://[2001:db8::1]:8080/x"),
        ("javascript:alert(1)", None, None),
        (" JAVASCRIPT:alert(1)", "https://example.com/", None),
        ("java\tscript:alert(1)", None, None),
        ("\x01javascript:alert(1)", None, None),
        ("data:text/html,<script>x</script>", None, None),
        ("vbscript:x", None, None),
        ("file:///etc/passwd", None, None),
        ("mailto:a@example.com", None, None),
        ("https:///no-host", None, None),
        ("https://example.com:99999/", None, None),
        ("relative/without/base", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_canonical_url(link: str | None, base: str | None, url: str | None) -> None:
    assert canonical_url(link, base) == url


def test_same_article_through_two_feeds_is_one_item() -> None:
    a = item_id("https://example.com/a?x=1&y=2", "https://feed-one.example/rss", "g1", "A", None)
    b = item_id("http://example.com/a?y=2&x=1", "https://feed-two.example/atom", "g2", "B", NOW)
    assert a == b and len(a) == 16 and int(a, 16) >= 0


def test_ids_without_url_depend_on_the_feed() -> None:
    one = item_id(None, "https://feed-one.example/rss", "g1", "t", NOW)
    assert one == item_id(None, "https://feed-one.example/rss", "g1", "other title", None)
    assert one != item_id(None, "https://feed-two.example/rss", "g1", "t", NOW)
    by_title = item_id(None, "https://feed-one.example/rss", None, "t", NOW)
    assert by_title != item_id(None, "https://feed-one.example/rss", None, "t", None)
    assert by_title != item_id(None, "https://feed-one.example/rss", None, "u", NOW)


def test_entries_all_linking_to_the_home_page_stay_apart() -> None:
    home = "https://site.example/"
    items = normalise(entry(link=home, guid="a"), entry(link=home, guid="b"))
    assert len({i.id for i in items}) == 2 and {i.url for i in items} == {home}


def test_item_ids_are_pinned() -> None:
    # Stored ids: changing the recipe would duplicate every stored item.
    assert item_id("https://example.com/a", "f", None, "", None) == "578f46f81842f4be"


PLAIN_TEXTS = [
    "Morocco and Algeria",
    "  spaced\tout\r\nover lines  ",
    "a > b, \"quoted\" and 'single' > c",
    "المغرب والجزائر: تصعيد دبلوماسي",
    "L’Algérie — « entre guillemets »",
    "Ñandú; ¿qué? ¡sí!",
    "nul\x00 c0\x01\x1f del\x7f c1\x85\x9b ansi\x1b[31mred\x1b[0m",
    "bom\ufeff nbsp\xa0 thin\u2009 line\u2028sep",
    "emoji 🇲🇦 and surrogate \ud800 half",
    "",
    "   ",
]


@pytest.mark.parametrize("text", PLAIN_TEXTS)
def test_text_without_tags_or_entities_skips_nh3_with_the_same_result(text: str) -> None:
    from collectors.normalise import _markup_to_text, _strip_controls

    assert to_plain_text(text) == _markup_to_text(_strip_controls(text))


def test_absolute_links_skip_urljoin_with_the_same_result() -> None:
    """canonical_url skips urljoin for absolute http(s) links: same URL as joining first."""
    from urllib.parse import urljoin

    bases = [
        "https://news.example.org/feeds/main.xml",
        "http://a.example/x/y?q=1",
        "HTTPS://B.example",
    ]
    links = [
        "https://news.example.org/a/b.html?utm_source=rss&id=7#top",
        "http://news.example.org/a/./b/../c?",
        "HTTP://Upper.Example:80/Path;params?x=1&fbclid=2#",
        "https://other.example:8443?only=query",
        "https://user:pw@host.example/p",
        "http://host.example#frag",
        "https://[2001:db8::1]:443/v6",
        "http://host.example:99999/bad-port",
        "https://h.example/%7Euser/?a=%20b&utm_medium=x",
    ]
    for base in bases:
        for link in links:
            joined = urljoin(base, link)
            assert canonical_url(link, base) == canonical_url(joined), (link, base)


def test_simple_urls_split_as_urlsplit_does() -> None:
    """identity._split reads simple http(s) URLs itself: the same parts as urlsplit,
    and None (urlsplit's turn) for anything else."""
    from urllib.parse import urlsplit

    from collectors.identity import _split

    simple = [
        "https://news.example.org/a/b.html?utm_source=rss&id=7#top",
        "http://h.example",
        "http://h.example?q",
        "http://h.example#f?x",
        "https://h.example/a?b#c?d",
        "https://h.example/?",
        "https://h.example/a%20b;p/../c?x=%2F&y#",
        "https://h.example/ trailing space",
        "https://1.2.3.4/x",
    ]
    for url in simple:
        parts = _split(url)
        assert parts == urlsplit(url), url
        assert parts is not None and parts.hostname == urlsplit(url).hostname
        assert parts.port is None
    others = [
        "HTTPS://h.example/",
        "https://H.example/",
        "https://h.example:8443/",
        "https://user@h.example/",
        "https://[::1]/",
        "https://h.example/a\tb",
        "https://h.example/a\nb",
        "https://hé.example/",
        "ftp://h.example/",
        "https:/h.example/",
        " https://h.example/",
    ]
    assert [url for url in others if _split(url) is not None] == []
