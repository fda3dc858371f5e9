"""Headline matches weigh more than deep-summary ones; the fast paths change no verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import Match, RulesError, Tagging
from tagging import Tagger, load_rules, parse_rules
from tagging.evaluation import load_labelled
from tagging.reference import RegexMatcher
from tagging.tagger import _new_tagging

ROOT = Path(__file__).resolve().parent.parent

RULES = """\
format: 1
{scoring}
actors:
  algeria:
    rules:
      - id: algeria.name
        terms:
          en: [Algeria]
categories:
  accusation_threat:
    rules:
      - id: accusation_threat.accuse
        terms:
          en: [accus*]
"""


def tagger_with(scoring: str = "") -> Tagger:
    return Tagger(parse_rules(RULES.format(scoring=scoring), Path("test.yaml")))


def factors(tagger: Tagger, title: str, summary: str) -> list[tuple[str, str, float]]:
    tagging = tagger.tag(title, summary)
    return [(m.field, m.text, round(m.factor, 3)) for m in tagging.matches]


def test_title_weighs_double_and_summary_decays_by_sentence() -> None:
    got = factors(
        tagger_with(),
        "Algeria accuses",
        "Algeria accused. Then more. Algeria accuses again.",
    )
    assert got == [
        ("title", "Algeria", 2.0),
        ("title", "accuses", 2.0),
        ("summary", "Algeria", 1.0),
        ("summary", "accused", 1.0),
        ("summary", "Algeria", 0.5),
        ("summary", "accuses", 0.5),
    ]


def test_category_scores_take_the_best_placed_match() -> None:
    tagger = tagger_with()
    assert tagger.tag("Algeria accuses", "").category_scores() == {"accusation_threat": 10.0}
    deep = tagger.tag("Algeria", "Nothing. Still nothing. Algeria accuses.")
    assert deep.category_scores() == {"accusation_threat": 2.5}
    match = deep.matches[-1]
    assert match.score == match.weight * match.factor


def test_scoring_is_set_in_the_rules_file() -> None:
    tagger = tagger_with("scoring:\n  title_factor: 3\n  summary_decay: 0")
    got = factors(tagger, "Algeria", "One. Two. Algeria.")
    assert got == [("title", "Algeria", 3.0), ("summary", "Algeria", 1.0)]


@pytest.mark.parametrize(
    ("scoring", "line", "reason"),
    [
        ("scoring:\n  title_factor: 0", 3, "title_factor must be above 0, got 0"),
        ("scoring:\n  summary_decay: -1", 3, "summary_decay must be 0 or more, got -1"),
        ("scoring:\n  title_factor: big", 3, "title_factor must be a number"),
        ("scoring:\n  title_factr: 2", 3, "unknown key 'title_factr' (did you mean"),
        ("scoring: [2]", 2, "scoring"),
    ],
)
def test_scoring_errors(scoring: str, line: int, reason: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(RULES.format(scoring=scoring), Path("test.yaml"))
    lines = str(caught.value).splitlines()
    where = f"test.yaml:{line}: scoring"
    assert any(text.startswith(where) and reason in text for text in lines), lines


def test_fast_tagging_equals_a_built_tagging() -> None:
    match = Match("a.b", "category", "a", "summary", 3, 9, "attack", 10.0, 0.5)
    assert match == Match(
        rule="a.b",
        kind="category",
        target="a",
        field="summary",
        start=3,
        end=9,
        text="attack",
        weight=10.0,
        factor=0.5,
    )
    assert match.score == 5.0
    fast = _new_tagging(("morocco",), ("a",), (match,), "v1")
    built = Tagging(actors=("morocco",), categories=("a",), matches=(match,), rules_version="v1")
    assert fast == built
    assert hash(fast) == hash(built)
    assert repr(fast) == repr(built)


def test_tagger_builds_matches_field_by_field() -> None:
    """The tagger builds ``Match`` tuples positionally: the field order must be the model's."""
    tagging = Tagger(load_rules(ROOT / "seeds" / "rules.yaml")).tag("Algeria accuses Morocco", "")
    accuse = next(m for m in tagging.matches if m.target == "accusation_threat")
    assert accuse._asdict() == {
        "rule": "accusation_threat.accuse",
        "kind": "category",
        "target": "accusation_threat",
        "field": "title",
        "start": 8,
        "end": 15,
        "text": "accuses",
        "weight": 5.0,
        "factor": accuse.factor,
    }
    assert accuse.factor > 1.0  # a headline match weighs more


def test_fast_tagger_equals_the_one_regex_per_term_tagger() -> None:
    rules = load_rules(ROOT / "seeds" / "rules.yaml")
    fast, naive = Tagger(rules), Tagger(rules, finder=RegexMatcher(rules))
    items = load_labelled(ROOT / "tests" / "data" / "labelled.jsonl")
    items += load_labelled(ROOT / "tests" / "data" / "labelled_holdout.jsonl")
    for item in items:
        assert fast.tag(item.title, item.summary, item.lang) == naive.tag(
            item.title, item.summary, item.lang
        ), item.id
