"""Tagged items as the rows that store them.

Built wherever items are tagged: in a collector's digest worker processes,
which import this module and not the database layer (sqlite-utils alone
took 70 ms of every worker's start).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

from model import TaggedItem, Tagging
from storage.timestamps import to_iso

Label = tuple[str, str, float, str]  # kind, tag, weight, rules version
Evidence = tuple[str, str, str, str, int, int, str, str]  # kind, tag, rule, field, start,
# end, text, rules version


class ItemRecord(NamedTuple):
    """A tagged item as the rows that store it: plain strings and numbers, built by
    ``item_records`` wherever the item was tagged (a collector's digest worker
    process), so the writer only inserts. Unpickling the 50,000 ``TaggedItem``s
    of the collect benchmark's first pass cost the writing process 1.1 s of CPU;
    these records cost it 0.13 s."""

    id: str
    url: str | None
    guid: str | None
    title: str
    summary: str
    published: str  # as stored (``to_iso``)
    fetched: str
    lang: str
    flags: str  # comma-separated
    labels: tuple[Label, ...]
    evidence: tuple[Evidence, ...]


# Every item of a body shares its fetch time: formatted once, not once per item.
_stamp = functools.lru_cache(maxsize=64)(to_iso)


def item_records(tagged: Iterable[TaggedItem]) -> tuple[ItemRecord, ...]:
    """``TaggedItem``s as the rows ``store_items`` writes."""
    return tuple(
        ItemRecord(
            entry.item.id,
            entry.item.url,
            entry.item.guid,
            entry.item.title,
            entry.item.summary,
            to_iso(entry.item.published),
            _stamp(entry.item.fetched),
            entry.item.lang,
            ",".join(entry.item.flags),
            *tag_rows(entry.tagging),
        )
        for entry in tagged
    )


def tag_rows(tagging: Tagging) -> tuple[tuple[Label, ...], tuple[Evidence, ...]]:
    """An item's labels (actors, then categories with their weight) and evidence."""
    version = tagging.rules_version
    weights: dict[str, float] = {}
    evidence = []
    for m in tagging.matches:
        if m.kind == "category":
            weights[m.target] = m.weight
        evidence.append((m.kind, m.target, m.rule, m.field, m.start, m.end, m.text, version))
    labels = [("actor", a, 0.0, version) for a in tagging.actors]
    labels += [("category", c, weights.get(c, 0.0), version) for c in tagging.categories]
    return tuple(labels), tuple(evidence)
