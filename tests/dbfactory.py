"""Build realistic test databases from short item specs.

``build_database(path, items, feeds)`` opens the file with
``storage.db.open_database`` (so the real migrations run) and writes feeds,
items, item_sources, item_tags and tag_matches with plain inserts, the way
the collector would: each label carries the seeded category weight and at
least one evidence span found in the item's own text. ``sample_items()``
and ``sample_feeds()`` are half a year of news over the seeded dyads, with
quiet stretches, gaps and one clear morocco-algeria spike (2024-05-20).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlite_utils

from storage.aggregates import refresh_aggregates
from storage.db import open_database, transaction

RULES_VERSION = "test-rules-1"

CATEGORY_WEIGHTS: dict[str, float] = {
    "military_violence": 10,
    "diplomatic_rupture": 7,
    "accusation_threat": 5,
    "surveillance_espionage": 4,
    "protest_unrest": 3,
    "defence_cooperation": 2,
    "sovereignty_dispute": 2,
    "economic_energy": -2,
    "normalisation_cooperation": -4,
    "mediation_deescalation": -5,
}

# Surface forms looked for in an item's text to write its evidence spans.
SURFACE_FORMS: dict[str, tuple[str, ...]] = {
    "morocco": ("Morocco", "Moroccan", "Rabat", "Maroc"),
    "algeria": ("Algeria", "Algerian", "Algiers", "Algérie"),
    "israel": ("Israel", "Israeli"),
    "polisario": ("Polisario", "SADR"),
    "palestine": ("Palestinian", "Gaza", "West Bank"),
    "western_sahara": ("Western Sahara", "Guerguerat", "Dakhla"),
    "united_nations": ("UN", "Security Council", "MINURSO"),
    "military_violence": ("drone strike", "shelling", "attack", "killed", "clash"),
    "diplomatic_rupture": ("cuts ties", "severs", "recalls", "closes airspace", "expels"),
    "accusation_threat": ("accuses", "condemns", "warns", "threatens"),
    "surveillance_espionage": ("spyware", "Pegasus", "espionage", "hacking"),
    "protest_unrest": ("protest", "rally", "demonstrat"),
    "defence_cooperation": ("defence pact", "drones deal", "arms", "military visit"),
    "sovereignty_dispute": ("sovereignty", "autonomy plan", "referendum"),
    "economic_energy": ("pipeline", "trade", "gas", "investment"),
    "normalisation_cooperation": ("normalisation", "embassy", "liaison office", "accord"),
    "mediation_deescalation": ("talks", "envoy", "ceasefire", "mediation", "dialogue"),
}


@dataclass(frozen=True)
class FeedRow:
    """A feed row as the collector leaves it after some polls."""

    url: str = "https://maghreb.example/rss.xml"
    name: str = "Maghreb Monitor"
    country: str = "GB"
    lang: str = "en"
    enabled: bool = True
    disabled_reason: str | None = None
    last_polled: str | None = "2024-06-30T12:00:00Z"
    last_ok: str | None = "2024-06-30T12:00:00Z"
    last_error: str | None = None
    last_error_at: str | None = None
    error_since: str | None = None
    last_warning: str | None = None
    error_count: int = 0


DEFAULT_FEED = FeedRow()


@dataclass(frozen=True)
class ItemSpec:
    """One item: its text, UTC publication (a day means noon) and its labels."""

    title: str
    published: str  # "2024-05-20" or "2024-05-20T08:30:00Z"
    actors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    summary: str = ""
    feed: str = DEFAULT_FEED.url
    also_in: tuple[str, ...] = ()  # other feeds that carried it
    url: str | None = ""  # "" means a made-up https link; None means no link
    lang: str = "en"
    weights: dict[str, float] = field(default_factory=dict)  # overrides CATEGORY_WEIGHTS

    @property
    def published_iso(self) -> str:
        return self.published if "T" in self.published else f"{self.published}T12:00:00Z"

    @property
    def id(self) -> str:
        digest = hashlib.sha256(f"{self.feed}|{self.title}|{self.published}".encode())
        return digest.hexdigest()[:16]


def find_evidence(spec: ItemSpec, tag: str) -> tuple[str, int, int, str]:
    """(field, start, end, text) of the first surface form of ``tag`` in the item's text,
    or the title's first word when none is there."""
    for field_name, text in (("title", spec.title), ("summary", spec.summary)):
        lowered = text.lower()
        for form in SURFACE_FORMS.get(tag, (tag.replace("_", " "),)):
            at = lowered.find(form.lower())
            if at >= 0:
                return field_name, at, at + len(form), text[at : at + len(form)]
    end = len(spec.title.split(" ", 1)[0])
    return "title", 0, end, spec.title[:end]


def _insert_feed(db: sqlite_utils.Database, feed: FeedRow, columns: set[str]) -> int:
    values: dict[str, object] = {
        "url": feed.url,
        "name": feed.name,
        "country": feed.country,
        "lang": feed.lang,
        "enabled": int(feed.enabled),
        "disabled_reason": feed.disabled_reason,
        "last_polled": feed.last_polled,
        "last_ok": feed.last_ok,
        "last_error": feed.last_error,
        "last_error_at": feed.last_error_at,
        "error_since": feed.error_since,
        "last_warning": feed.last_warning,
        "error_count": feed.error_count,
        "created": "2024-01-01T00:00:00Z",
    }
    if "config_url" in columns:  # the feed as the config names it, before any redirect
        values["config_url"] = feed.url
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(f"INSERT INTO feeds ({names}) VALUES ({marks})", list(values.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def build_database(
    path: str | Path,
    items: Sequence[ItemSpec],
    feeds: Sequence[FeedRow] = (DEFAULT_FEED,),
    *,
    refresh: bool = True,
) -> Path:
    """Write ``feeds`` and ``items`` into a new (migrated) database at ``path``.

    Feeds that items name but ``feeds`` lacks are added with default settings.
    The aggregates are refreshed afterwards unless ``refresh`` is false.
    """
    path = Path(path)
    db = open_database(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(feeds)").fetchall()}
    known = {feed.url: feed for feed in feeds}
    for spec in items:
        for url in (spec.feed, *spec.also_in):
            known.setdefault(url, FeedRow(url=url, name=url.split("/")[2]))
    with transaction(db):
        feed_ids = {url: _insert_feed(db, feed, columns) for url, feed in known.items()}
        for spec in items:
            _insert_item(db, spec, feed_ids)
    if refresh:
        refresh_aggregates(db)  # as the collector does after each poll
    db.conn.close()
    return path


def _insert_item(db: sqlite_utils.Database, spec: ItemSpec, feed_ids: dict[str, int]) -> None:
    execute = db.execute
    url = f"https://news.example/{spec.id}" if spec.url == "" else spec.url
    execute(
        """INSERT INTO items (id, feed_id, url, guid, title, summary, published, fetched, lang)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            spec.id,
            feed_ids[spec.feed],
            url,
            url,
            spec.title,
            spec.summary,
            spec.published_iso,
            spec.published_iso,
            spec.lang,
        ],
    )
    for feed in (spec.feed, *spec.also_in):
        execute(
            "INSERT INTO item_sources (item_id, feed_id, first_seen) VALUES (?, ?, ?)",
            [spec.id, feed_ids[feed], spec.published_iso],
        )
    labels = [("actor", tag, 0.0) for tag in spec.actors]
    labels += [
        ("category", tag, spec.weights.get(tag, CATEGORY_WEIGHTS.get(tag, 0.0)))
        for tag in spec.categories
    ]
    for kind, tag, weight in labels:
        execute(
            "INSERT INTO item_tags (item_id, kind, tag, weight, rules_version) "
            "VALUES (?, ?, ?, ?, ?)",
            [spec.id, kind, tag, weight, RULES_VERSION],
        )
        field_name, start, end, text = find_evidence(spec, tag)
        execute(
            """INSERT INTO tag_matches (item_id, kind, tag, rule, field, start, "end", text,
                                        rules_version)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [spec.id, kind, tag, f"{kind}.{tag}", field_name, start, end, text, RULES_VERSION],
        )


SAMPLE_START = date(2024, 1, 1)
SAMPLE_END = date(2024, 6, 30)
SPIKE_DAY = date(2024, 5, 20)

GAZETTE = "https://gazette.example/feed"
ATLAS = "/archive/atlas-daily-en.atom"  # a local archive feed: its URL is not a link


def sample_feeds() -> list[FeedRow]:
    """One healthy feed, one failing, one disabled, one never polled."""
    return [
        DEFAULT_FEED,
        FeedRow(
            url=GAZETTE,
            name="Sahel Gazette",
            country="FR",
            lang="fr",
            last_ok="2024-06-20T08:00:00Z",
            last_error="HTTP 503 Service Unavailable",
            last_error_at="2024-06-30T12:00:00Z",
            error_since="2024-06-21T08:00:00Z",
            error_count=4,
        ),
        FeedRow(url=ATLAS, name="Atlas Daily (archive)", country="MA"),
        FeedRow(
            url="https://gone.example/rss",
            name="Gone Times",
            enabled=False,
            disabled_reason="HTTP 410 Gone",
            last_ok=None,
        ),
        FeedRow(url="https://new.example/rss", name="Fresh Outlet", last_polled=None, last_ok=None),
    ]


def _every(step: int, offset: int = 0) -> list[date]:
    days = (SAMPLE_END - SAMPLE_START).days + 1
    return [SAMPLE_START + timedelta(days=n) for n in range(offset, days, step)]


def sample_items() -> list[ItemSpec]:
    """Half a year over the seeded dyads; a burst of rupture news on ``SPIKE_DAY``."""
    items: list[ItemSpec] = []
    for n, day in enumerate(_every(6)):
        items.append(
            ItemSpec(
                f"Algeria accuses Morocco of hostile acts ({n})",
                day.isoformat(),
                ("algeria", "morocco"),
                ("accusation_threat",),
                summary="Algiers warns Rabat after a statement.",
                feed=GAZETTE if n % 2 else DEFAULT_FEED.url,
            )
        )
    for n, title in enumerate(
        (
            "Algeria cuts ties with Morocco",
            "Algeria closes airspace to Moroccan aircraft",
            "Morocco condemns Algeria's decision",
        )
    ):
        items.append(
            ItemSpec(
                title,
                f"{SPIKE_DAY.isoformat()}T{8 + n:02d}:00:00Z",
                ("algeria", "morocco"),
                ("diplomatic_rupture", "accusation_threat"),
                also_in=(GAZETTE,) if n == 0 else (),
            )
        )
    for n, day in enumerate(_every(10, 3)):
        items.append(
            ItemSpec(
                f"Polisario claims shelling near Guerguerat ({n})",
                day.isoformat(),
                ("polisario", "morocco", "western_sahara"),
                ("military_violence",),
                feed=ATLAS,
                url=None,
            )
        )
    items.append(
        ItemSpec(
            "UN envoy holds talks with Morocco and the Polisario",
            "2024-04-11",
            ("united_nations", "morocco", "polisario"),
            ("mediation_deescalation",),
        )
    )
    for n, day in enumerate(_every(14, 5)):
        cooperation = ("defence_cooperation",) if n % 2 else ("normalisation_cooperation",)
        items.append(
            ItemSpec(
                f"Morocco and Israel sign {'drones deal' if n % 2 else 'liaison office accord'}",
                day.isoformat(),
                ("morocco", "israel"),
                cooperation,
            )
        )
    for n, day in enumerate(_every(30, 9)):
        items.append(
            ItemSpec(
                f"Algeria backs Polisario referendum call ({n})",
                day.isoformat(),
                ("algeria", "polisario"),
                ("sovereignty_dispute",),
            )
        )
    # israel-palestine: busy until mid-February, then a gap of a month, then busy again
    for day in _every(2, 1):
        if date(2024, 2, 15) <= day < date(2024, 3, 15):
            continue
        items.append(
            ItemSpec(
                f"Israeli drone strike in Gaza, {day.isoformat()}",
                day.isoformat(),
                ("israel", "palestine"),
                ("military_violence",),
            )
        )
    items.append(
        ItemSpec(
            "Morocco and Algeria football fans celebrate together",
            "2024-03-03",
            (),
            (),
            summary="No state acts here: no labels.",
        )
    )
    return items


def build_sample_database(path: str | Path) -> Path:
    return build_database(path, sample_items(), sample_feeds())
