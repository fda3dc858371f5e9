"""Frozen data types, named by pipeline stage.

``FeedSpec`` → (fetch) ``FetchResult`` → (parse) ``ParsedFeed`` of
``ParsedEntry`` → (normalise) ``NormalisedItem`` → (tag) ``TaggedItem`` →
(store) → ``PollOutcome`` per feed. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

MIB = 1024 * 1024


@dataclass(frozen=True)
class FeedSpec:
    """A feed as configured: an http(s) URL or a local file path."""

    url: str
    name: str = ""
    country: str = ""
    lang: str = ""
    interval: int | None = None  # seconds; None means the configured default
    enabled: bool = True
    archive: bool = False  # part of the bundled offline archive

    @property
    def is_local(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class FetchPolicy:
    """How politely and how defensively feeds are fetched."""

    user_agent: str = "tensionwatch"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # a whole fetch, headers and body, never takes longer
    max_bytes: int = 10 * MIB  # counted after decompression
    max_redirects: int = 5
    allow_private_networks: bool = False


@dataclass(frozen=True)
class ConditionalHeaders:
    """Validators from the last successful fetch, sent back as a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought back. Errors raise ``FetchError`` instead."""

    url: str  # as requested
    final_url: str  # after redirects
    permanent_url: str | None  # set when every redirect on the way was permanent
    status: int  # HTTP status, or 200 for a local file
    body: bytes  # empty when not modified
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    duration_ms: int = 0


@dataclass(frozen=True)
class ParsedEntry:
    """One entry as the feed gave it; title and summary may still hold markup."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None  # None when missing or unparseable
    lang: str = ""
    published_raw: str = ""  # the date as the feed wrote it, for explanations


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed body. ``warning`` says what was repaired (charset, ill-formed XML)."""

    title: str
    lang: str
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class NormalisedItem:
    """An entry ready to tag and store: plain text, UTC time, canonical link, stable id."""

    id: str
    feed_url: str
    url: str | None  # http(s) only
    guid: str | None
    title: str
    summary: str
    published: datetime
    fetched: datetime
    lang: str
    flags: tuple[str, ...] = ()  # e.g. "date_missing", "date_future", "date_unparseable"


class Match(NamedTuple):
    """One rule firing on one span of one field of an item.

    A named tuple, not a dataclass: the tagger builds about ten per tagged
    item, and a tuple is built (and pickled to the collector's digest
    workers and back) in a third of the time. Compare matches with matches.
    """

    rule: str  # the rule's id in the rules file
    kind: str  # "actor" or "category"
    target: str  # the taxonomy id the rule tags
    field: str  # "title" or "summary"
    start: int  # character offsets into the original field text
    end: int
    text: str  # original[start:end]
    weight: float = 0.0  # the category weight (0 for actors)
    # where the match sits: title matches weigh ``title_factor`` (2 by default),
    # summary matches 1 in the first sentence, then decay (see docs/rules.md)
    factor: float = 1.0

    @property
    def score(self) -> float:
        """The category weight scaled by the match's position."""
        return self.weight * self.factor


@dataclass(frozen=True)
class Tagging:
    """The tagger's verdict on one item."""

    actors: tuple[str, ...]
    categories: tuple[str, ...]
    matches: tuple[Match, ...]
    rules_version: str

    def category_scores(self) -> dict[str, float]:
        """Per category, the weight times the best-placed match's factor.

        A category named in the headline weighs more than one named deep in
        the summary; the sign is the category's (escalation or de-escalation).
        """
        scores: dict[str, float] = {}
        for m in self.matches:
            if m.kind == "category" and abs(m.score) > abs(scores.get(m.target, 0.0)):
                scores[m.target] = m.score
        return scores


@dataclass(frozen=True)
class TaggedItem:
    item: NormalisedItem
    tagging: Tagging


@dataclass(frozen=True)
class PollOutcome:
    """The result of one feed in one collection pass."""

    url: str
    status: str  # "ok", "not_modified", "error", "skipped", "disabled"
    new: int = 0
    seen: int = 0
    error: str | None = None
    warning: str | None = None
    duration_ms: int = 0
    note: str | None = None  # e.g. why a feed was skipped
