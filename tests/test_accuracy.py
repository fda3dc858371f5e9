"""Accuracy floor on the dev part of the labelled items (figures: bench/accuracy.py).

The floors sit a little below what the seeded rules reach, so that a rules
or tagger change that loses accuracy fails here. The held-out part is only
measured by bench/accuracy.py, never asserted, so nobody tunes against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tagging import Tagger, load_rules
from tagging.evaluation import LabelScore, evaluate, load_labelled, score_labels

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "labelled.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "labelled_holdout.jsonl"
ACTOR_FLOOR = 0.96  # the target of the issue is 0.95 on both parts
CATEGORY_FLOOR = 0.94  # target 0.90
LANGS = {"en", "fr", "ar", "es"}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_rules(ROOT / "seeds" / "rules.yaml"))


def test_labelled_sets_are_well_formed(tagger: Tagger) -> None:
    dev, holdout = load_labelled(DEV), load_labelled(HOLDOUT)
    assert len(dev) + len(holdout) >= 250
    ids = [i.id for i in dev + holdout]
    assert len(ids) == len(set(ids))
    for part in (dev, holdout):
        assert {i.lang for i in part} == LANGS
        assert sum(i.trap for i in part) >= len(part) / 3
    for item in dev + holdout:
        assert item.actors <= set(tagger.rules.actor_ids), item.id
        assert item.categories <= set(tagger.rules.category_ids), item.id


def test_dev_macro_f1_stays_above_floor(tagger: Tagger) -> None:
    result = evaluate(tagger, load_labelled(DEV))
    assert result.actors.macro_f1 >= ACTOR_FLOOR
    assert result.categories.macro_f1 >= CATEGORY_FLOOR


def test_scores_count_true_and_false_positives() -> None:
    scores = score_labels(
        [frozenset({"a"}), frozenset({"a", "b"}), frozenset()],
        [{"a"}, {"b"}, {"b"}],
    )
    assert scores.labels == (LabelScore("a", 1, 0, 1), LabelScore("b", 1, 1, 0))
    a, b = scores.labels
    assert (a.precision, a.recall) == (1.0, 0.5)
    assert (b.precision, b.recall) == (0.5, 1.0)
    assert scores.macro_f1 == pytest.approx((2 / 3 + 2 / 3) / 2)
