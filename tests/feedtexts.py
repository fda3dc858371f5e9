"""Small RSS and Atom documents for tests, built from (title, summary, link, date) rows."""

from __future__ import annotations

from xml.sax.saxutils import escape

Row = tuple[str, str, str, str]  # title, summary, link, RFC 822 / ISO date


def rss(rows: list[Row], title: str = "Test feed") -> bytes:
    items = "".join(
        f"<item><title>{escape(t)}</title><description>{escape(s)}</description>"
        f"<link>{escape(link)}</link><guid>{escape(link)}</guid><pubDate>{d}</pubDate></item>"
        for t, s, link, d in rows
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://test.example/</link>"
        f"<language>en</language>{items}</channel></rss>"
    ).encode()


def atom(rows: list[Row], title: str = "Test atom") -> bytes:
    entries = "".join(
        f"<entry><title>{escape(t)}</title><summary>{escape(s)}</summary>"
        f'<link rel="alternate" href="{escape(link)}"/><id>{escape(link)}</id>'
        f"<updated>{d}</updated></entry>"
        for t, s, link, d in rows
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2021-08-24T00:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


TIES_CUT = (
    "Algeria severs diplomatic ties with Morocco",
    "Algiers accused Rabat of hostile acts and cut relations.",
    "https://news.example/2021/08/24/ties",
    "Tue, 24 Aug 2021 18:00:00 GMT",
)
PEGASUS = (
    "Morocco denies using Pegasus spyware",
    "Rabat rejected reports that it hacked phones with the NSO tool.",
    "https://news.example/2021/07/19/pegasus",
    "Mon, 19 Jul 2021 10:00:00 GMT",
)
HARVEST = (
    "Wheat harvest expected to recover after rains",
    "Farmers in the Saiss plain expect a better season.",
    "https://news.example/2021/05/02/harvest",
    "Sun, 02 May 2021 08:00:00 GMT",
)
ATOM_VISIT = (
    "Israeli defence minister signs security pact in Rabat",
    "Benny Gantz and Moroccan officials signed a defence memorandum.",
    "https://other.example/2021/11/24/gantz",
    "2021-11-24T12:00:00Z",
)
