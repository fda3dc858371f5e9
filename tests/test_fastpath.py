"""The fast path against feedparser: the same normalised items wherever it takes a feed.

Every body of the test corpus (``tests/feeds``, ``tests/feeds/hostile``, the
inline bodies of the hostile cases) and of the bundled archive
(``seeds/archive``), plus the shapes below, is parsed twice: by
``parse_feed`` (fast path first) and by ``parse_slow`` (feedparser only).
Where ``parse_fast`` accepts a body, the normalised items, the feed's
language and its ttl must be the same; where it refuses, ``parse_feed`` must
be feedparser's answer. Each body is tried with the headers its case gives,
and with a Content-Type charset and a Content-Language header.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedparser.datetimes import _parse_date
from feedparser.urls import _urljoin

from collectors.fastparse import join_url, parse_fast, read_date
from collectors.normalise import normalise_entries
from collectors.parse import _date, parse_feed, parse_slow
from model import FetchResult, NormalisedItem, ParseError

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "feeds"
ARCHIVE = ROOT / "seeds" / "archive"
FEED_URL = "https://news.example.org/feeds/main.xml"
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
BODY_SUFFIXES = (".xml", ".atom", ".html", ".jsonfeed", ".rss", ".rdf", ".bin")

RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"{ns}><channel>'
DC = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
CONTENT = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
ATOM_HEAD = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"{attrs}>'

# Shapes the corpus may not hold, each a question about feedparser's rules.
SHAPES: dict[str, str] = {
    "rss-permalink-guid-only": RSS_HEAD.format(ns="")
    + "<title>T</title><item><title>A</title><guid>https://a.example/1?x=1&amp;y=2</guid>"
    "</item><item><title>B</title><guid>/relative/2</guid></item></channel></rss>",
    "rss-guid-then-link": RSS_HEAD.format(ns="")
    + "<item><title>A</title><guid>https://a.example/g</guid><link>https://a.example/l</link>"
    "</item><item><title>B</title><link>/l2</link><guid>https://a.example/g2</guid></item>"
    "<item><title>C</title><guid isPermaLink='false'>c-1</guid></item></channel></rss>",
    "rss-dc-date-content-encoded": RSS_HEAD.format(ns=DC + CONTENT)
    + "<language>fr-FR</language><ttl>30</ttl>"
    "<item><title>Sans date</title><dc:date>2026-10-01T10:00:00+02:00</dc:date>"
    "<content:encoded><![CDATA[<p>Le <b>contenu</b> &amp; plus</p>]]></content:encoded></item>"
    "<item><title>Both</title><description>d &lt;i&gt;x&lt;/i&gt;</description>"
    "<content:encoded>c</content:encoded><pubDate>Tue, 03 Nov 2026 08:00:00 +0100</pubDate>"
    "</item></channel></rss>",
    "rss-bad-and-odd-dates": RSS_HEAD.format(ns="")
    + "<item><title>Impossible</title><link>https://a.example/1</link>"
    "<pubDate>Mon, 45 Foo 2024 10:00:00 GMT</pubDate></item>"
    "<item><title>Iso</title><link>https://a.example/2</link><pubDate>2024-13-45</pubDate></item>"
    "<item><title>Future</title><link>https://a.example/3</link>"
    "<pubDate>Sat, 01 Jan 2039 00:00:00 EST</pubDate></item></channel></rss>",
    "rss-markup-and-entities": RSS_HEAD.format(ns="")
    + "<item><title>AT&amp;amp;T &lt;b&gt;bold&lt;/b&gt; a &lt; b</title>"
    "<link>https://a.example/q?a=1&amp;amp;b=2</link>"
    "<description>&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Text&lt;/p&gt; &#233;t&#xE9;"
    "</description></item>"
    "<item><title>  spaced   title </title><link>javascript:alert(1)</link></item>"
    "</channel></rss>",
    "rss-xml-lang": RSS_HEAD.format(ns="").replace("<rss ", '<rss xml:lang="es" ')
    + "<item><title xml:lang='ar'>عنوان</title><link>https://a.example/ar</link></item>"
    "<item><title>Título</title><link>https://a.example/es</link></item>"
    "<item xml:lang=''><title>None</title><link>https://a.example/none</link></item>"
    "</channel></rss>",
    "atom-links-and-ids": ATOM_HEAD.format(attrs=' xml:lang="fr"')
    + "<title type='html'>Le &lt;b&gt;flux&lt;/b&gt;</title>"
    "<entry><title>Two links</title><id>tag:a.example,2026:1</id>"
    "<link rel='enclosure' href='https://a.example/e.mp3'/>"
    "<link href='/first'/><link rel='alternate' type='text/html' href='/second'/>"
    "<updated>2026-11-01T10:00:00Z</updated></entry>"
    "<entry><title>Id only</title><id>urn:uuid:1234</id>"
    "<published>2026-11-01T09:00:00+01:00</published></entry>"
    "<entry><title>Relative id</title><id>entries/3</id>"
    "<link rel='self' href='/self/3'/></entry>"
    "<entry xml:lang='en'><title type='text'>a &lt; b</title><id>tag:a.example,2026:4</id>"
    "<content type='html'>&lt;p&gt;Only content&lt;/p&gt;</content></entry>"
    "<entry><title>Summary then content</title><id>tag:a.example,2026:5</id>"
    "<summary>S</summary><content type='html'>C</content></entry>"
    "</feed>",
    "rss-newsroom": RSS_HEAD.format(ns=DC)
    + "<title>Outlet</title><link>https://outlet.example/</link><language>ar</language>"
    "<item><title>المغرب يستقبل وفدا</title>"
    "<link>https://outlet.example/ar/1.html?utm_source=rss&amp;id=7</link>"
    "<guid isPermaLink='false'>outlet-1</guid><pubDate>Mon, 02 Nov 2026 06:00:00 +0100</pubDate>"
    "<dc:creator>Desk 1</dc:creator><category>Politique</category>"
    "<description>&lt;p&gt;&lt;strong&gt;الرباط&lt;/strong&gt; &amp;ndash; قال مسؤولون"
    " &lt;a href='https://outlet.example/more'&gt;المزيد&lt;/a&gt;&lt;/p&gt;</description>"
    "<enclosure url='https://outlet.example/1.jpg' type='image/jpeg' length='1'/></item>"
    "</channel></rss>",
    "atom-newsroom": ATOM_HEAD.format(attrs=' xml:lang="es"')
    + "<title>Outlet</title><id>https://outlet.example/</id>"
    "<link rel='self' href='https://outlet.example/atom.xml'/><updated>2026-11-02T06:00:00Z</updated>"
    "<entry><title>Marruecos firma un acuerdo</title><id>tag:outlet.example,2026:1</id>"
    "<link rel='alternate' href='https://outlet.example/es/1.html'/>"
    "<published>2026-11-02T06:00:00+00:00</published><updated>2026-11-02T07:00:00+00:00</updated>"
    "<author><name>Desk 2</name></author>"
    "<summary type='html'>&lt;p&gt;Según fuentes &amp;amp; diplomáticas&lt;/p&gt;</summary>"
    "</entry></feed>",
    "atom-xhtml-title": ATOM_HEAD.format(attrs="")
    + "<entry><title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>X</div></title>"
    "<id>tag:x,1</id></entry></feed>",
    "rss-unknown-element": RSS_HEAD.format(ns="")
    + "<item><title>A</title><link>https://a.example/1</link><foo>bar</foo></item>"
    "</channel></rss>",
}

HEADER_VARIANTS: tuple[dict[str, str], ...] = (
    {"content-type": "application/rss+xml; charset=utf-8", "content-language": "fr-FR"},
    {"content-type": "text/xml; charset=ISO-8859-1"},
)


def corpus() -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """(name, body, headers) for every feed body the project keeps."""
    for path in sorted(FEEDS.rglob("*")):
        if path.suffix in BODY_SUFFIXES:
            yield str(path.relative_to(ROOT)), path.read_bytes(), _case_headers(path)
    for case in sorted((FEEDS / "hostile").glob("*.json")):
        spec = json.loads(case.read_text(encoding="utf-8"))
        for index, step in enumerate(spec.get("passes", [])):
            response = step.get("response", {})
            if isinstance(response.get("body"), str):
                headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
                body = response["body"].replace("{base}", "http://127.0.0.1:9")
                yield f"{case.stem}#{index}", body.encode("utf-8"), headers
    for path in sorted(ARCHIVE.iterdir()):
        if path.suffix in BODY_SUFFIXES:
            yield str(path.relative_to(ROOT)), path.read_bytes(), {}
    for name, body in SHAPES.items():
        yield f"shape:{name}", body.encode("utf-8"), {}


def _case_headers(path: Path) -> dict[str, str]:
    spec_path = path.with_suffix(".json")
    if path.parent != FEEDS or not spec_path.exists():
        return {}
    headers = json.loads(spec_path.read_text(encoding="utf-8")).get("fetch", {}).get("headers")
    return {k.lower(): v for k, v in (headers or {}).items()}


def cases() -> list[tuple[str, bytes, dict[str, str]]]:
    out = []
    for name, body, headers in corpus():
        out.append((name, body, headers))
        for number, variant in enumerate(HEADER_VARIANTS):
            out.append((f"{name}+h{number}", body, {**headers, **variant}))
    return out


CASES = cases()


def normalised(result: FetchResult, fast: bool) -> tuple[list[NormalisedItem], str, int | None]:
    parsed = parse_feed(result) if fast else parse_slow(result)
    items = normalise_entries(result.final_url, parsed, NOW, default_lang="")
    return items, parsed.lang, parsed.ttl_seconds


@pytest.mark.parametrize(("name", "body", "headers"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_gives_feedparsers_items(name: str, body: bytes, headers: dict[str, str]) -> None:
    result = FetchResult(FEED_URL, FEED_URL, None, 200, body, headers)
    try:
        slow = normalised(result, fast=False)
    except ParseError:
        assert parse_fast(result) is None, "the fast path took a body feedparser refuses"
        with pytest.raises(ParseError):
            parse_feed(result)
        return
    assert normalised(result, fast=True) == slow


def test_the_fast_path_takes_the_ordinary_feeds() -> None:
    """The comparison above means something: the archive and plain shapes go the fast way."""
    taken = {
        name
        for name, body, headers in CASES
        if parse_fast(FetchResult(FEED_URL, FEED_URL, None, 200, body, headers)) is not None
    }
    archive = [str(p.relative_to(ROOT)) for p in ARCHIVE.iterdir() if p.suffix in (".xml", ".atom")]
    assert archive and set(archive) <= taken
    assert "shape:rss-permalink-guid-only" in taken
    assert "shape:atom-links-and-ids" in taken
    assert {"shape:rss-newsroom", "shape:atom-newsroom"} <= taken
    assert "shape:atom-xhtml-title" not in taken
    assert "shape:rss-unknown-element" not in taken
    assert "shape:rss-permalink-guid-only+h1" not in taken  # declared ISO-8859-1
    assert len(taken) >= 30


def test_without_feedparsers_helpers_every_body_goes_to_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import collectors.fastparse

    body = SHAPES["rss-newsroom"].encode("utf-8")
    result = FetchResult(FEED_URL, FEED_URL, None, 200, body, {})
    assert parse_fast(result) is not None
    monkeypatch.setattr(collectors.fastparse, "_parse_date", None)
    assert parse_fast(result) is None
    assert parse_feed(result) == parse_slow(result)


JOIN_BASES = [
    "http://feeds.example.org/rss.xml",
    "https://x.example/a/b/",
    "http://127.0.0.1:8000/f",
]
JOIN_VALUES = [
    # taken as they are
    "http://a.example/b",
    "https://a.example/b?x=1&y=2#frag",
    "http://a.example",
    "http://a.example?q",
    "http://user:pw@a.example:8080/x",
    "http://a.example/مغرب",
    "http://a.example/a/../b",
    "http://a.example/b#x#y",
    "http://a.example/b?q=[1]",
    "tag:outlet.example,2026:item-1",
    "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    "mailto:desk@a.example",
    "news:comp.lang.python",
    # joined by feedparser: changed, refused or relative
    "HTTP://a.example/b",
    "http:///a.example/b",
    "http://a.example/b?",
    "http://a.example/b#",
    "http://a.example/b?#f",
    "http://a.example/b;",
    "http://a.example/b;p",
    "http://[::1]/x",
    "http://[::1/x",
    "http://a.exa\tmple/x",
    "http://a.example/x y",
    "http://ä.example/x",
    "http://a.example\\b/c",
    "/relative/path",
    "relative",
    "?q=1",
    "#frag",
    "//other.example/x",
    "http://",
    "javascript:alert(1)",
    "TAG:outlet.example,2026:1",
    "tag:with space",
    "tag:/slash",
    "tag:",
    "file:relative",
    "ftp:relative",
    "https:relative",
    "http:relative",
    "ws:relative",
    "svn+ssh:x",
    "x-y.z+w:opaque",
    "tag:ünicode",
]


@pytest.mark.parametrize("base", JOIN_BASES)
@pytest.mark.parametrize("value", JOIN_VALUES)
def test_join_url_is_feedparsers_urljoin(base: str, value: str) -> None:
    assert join_url(base, value) == str(_urljoin(base, value))


# Dates at the edges of what read_date takes from the standard library.
DATES = [
    "2026-11-02T06:00:00Z",
    "2026-11-02T06:00:00.999999999+05:30",
    "2026-11-02T06:00:00-00:00",
    "2026-11-02T23:30:00-14:00",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    "2024-02-29T12:00:00Z",
    "2025-02-29T12:00:00Z",
    "2024-13-45T10:00:00Z",
    "2024-01-01T24:00:00Z",
    "2016-12-31T23:59:60Z",  # a leap second
    "2026-11-02T06:00:00+24:00",
    "2026-11-02t06:00:00z",
    "Mon, 02 Nov 2026 06:00:00 +0000",
    "2 Nov 2026 06:00:00 GMT",
    "Tue, 03 Nov 2026 08:00:00 +0100",
    "Tue, 03 Nov 2026 08:00:00 -0930",
    "Sun, 02 Nov 2026 06:00:00 UT",  # the wrong weekday: ignored
    "Mon, 02 Nov 2026 06:00:00 -0000",
    "Mon, 02 Nov 0099 06:00:00 +0000",
    "Mon, 02 Nov 1899 06:00:00 +0000",
    "Mon, 31 Feb 2026 06:00:00 +0000",
    "Mon, 02 Nov 2026 25:00:00 +0000",
    "Mon, 02 Nov 2026 06:00:61 +0000",
    "Mon, 02 Nov 2026 06:00:00 +0561",
    "Mon, 02 Nov 2026 06:00:00 EST",
    "Mon, 02 Nov 26 06:00:00 +0000",
    " Mon, 02 Nov 2026 06:00:00 +0000",
]


def feedparsers_date(raw: str) -> datetime | None:
    """The published time ``parse._date`` takes from feedparser's reading of ``raw``."""
    return _date({"published": raw, "published_parsed": _parse_date(raw)})[0]


def read_dates(raw: str) -> datetime | None:
    """The published time ``parse._date`` takes from ``read_date``'s reading of ``raw``."""
    return _date({"published": raw, "published_parsed": read_date(raw)})[0]


def random_dates(count: int) -> Iterator[str]:
    """Dates in both forms, most well-formed, with fields often out of range."""
    rng = random.Random(6)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    def num(width: int, low: int, high: int) -> str:
        return str(rng.randint(low, high)).zfill(width)

    for _ in range(count):
        year = num(4, 0, 9999) if rng.random() < 0.1 else num(4, 1890, 2110)
        clock = f"{num(2, 0, 25)}:{num(2, 0, 60)}:{num(2, 0, 61)}"
        if rng.random() < 0.5:
            text = f"{year}-{num(2, 0, 13)}-{num(2, 0, 32)}T{clock}"
            if rng.random() < 0.3:
                text += "." + str(rng.randint(0, 10 ** rng.randint(1, 9)))
            offset = f"{rng.choice('+-')}{num(2, 0, 25)}:{num(2, 0, 60)}"
            yield text + rng.choice(["Z", "+00:00", "-00:00", offset])
        else:
            day = rng.choice([str(rng.randint(0, 32)), num(2, 0, 32)])
            weekday = rng.choice(["", "Mon, ", "Sun, "])
            offset = f"{rng.choice('+-')}{num(4, 0, 9999)}"
            zone = rng.choice(["GMT", "UT", "+0000", "-0000", "+0530", offset])
            yield f"{weekday}{day} {rng.choice(months)} {year} {clock} {zone}"


@pytest.mark.parametrize("raw", DATES)
def test_read_date_is_feedparsers_reading(raw: str) -> None:
    assert read_dates(raw) == feedparsers_date(raw)


def test_read_date_is_feedparsers_reading_of_random_dates() -> None:
    dates = list(random_dates(20_000))
    taken = [raw for raw in dates if isinstance(read_date(raw), datetime)]
    assert len(taken) > 8_000  # the standard library read these, feedparser the rest
    assert [read_dates(raw) for raw in dates] == [feedparsers_date(raw) for raw in dates]
