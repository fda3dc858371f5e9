"""Measuring the tagger against hand-labelled items.

A labelled file is JSON Lines, one item per line: ``id``, ``lang``,
``title``, ``summary``, the expected ``actors`` and ``categories`` (labelled
by the conventions of TAXONOMY.md) and ``trap`` (true for items built to
catch a naive keyword match). ``score_labels`` compares the tagger's output
with the labels and gives, per label, precision, recall and F1, and the
macro-F1 over the labels that occur in the labels or the output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from model import Tagging
from tagging.tagger import Tagger


@dataclass(frozen=True)
class LabelledItem:
    id: str
    lang: str
    title: str
    summary: str
    actors: frozenset[str]
    categories: frozenset[str]
    trap: bool = False


@dataclass(frozen=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Scores:
    """Per-label scores of one kind (actors or categories)."""

    labels: tuple[LabelScore, ...]

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.labels) / len(self.labels) if self.labels else 1.0


@dataclass(frozen=True)
class Miss:
    """One item where the tagger and the labels disagree."""

    item: LabelledItem
    tagging: Tagging
    missing: tuple[str, ...]  # labelled, not tagged
    extra: tuple[str, ...]  # tagged, not labelled


def load_labelled(path: Path) -> list[LabelledItem]:
    """Read a labelled JSON Lines file (see the module docstring)."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        items.append(
            LabelledItem(
                id=raw["id"],
                lang=raw.get("lang", ""),
                title=raw["title"],
                summary=raw["summary"],
                actors=frozenset(raw["actors"]),
                categories=frozenset(raw["categories"]),
                trap=bool(raw.get("trap", False)),
            )
        )
    return items


def score_labels(expected: Sequence[frozenset[str]], found: Sequence[Iterable[str]]) -> Scores:
    """Precision, recall and F1 per label over paired sets of labels."""
    counts: dict[str, list[int]] = {}
    for want, got_raw in zip(expected, found, strict=True):
        got = set(got_raw)
        for label in want | got:
            c = counts.setdefault(label, [0, 0, 0])
            if label in want and label in got:
                c[0] += 1
            elif label in got:
                c[1] += 1
            else:
                c[2] += 1
    return Scores(tuple(LabelScore(k, *v) for k, v in sorted(counts.items())))


@dataclass(frozen=True)
class Evaluation:
    actors: Scores
    categories: Scores
    misses: tuple[Miss, ...]


def evaluate(tagger: Tagger, items: Sequence[LabelledItem]) -> Evaluation:
    """Tag every item and score actors and categories against the labels."""
    taggings = [tagger.tag(i.title, i.summary, i.lang) for i in items]
    misses = []
    for item, t in zip(items, taggings, strict=True):
        want = item.actors | item.categories
        got = set(t.actors) | set(t.categories)
        if want != got:
            misses.append(Miss(item, t, tuple(sorted(want - got)), tuple(sorted(got - want))))
    return Evaluation(
        actors=score_labels([i.actors for i in items], [t.actors for t in taggings]),
        categories=score_labels([i.categories for i in items], [t.categories for t in taggings]),
        misses=tuple(misses),
    )
