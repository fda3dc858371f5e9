"""The rules file as loaded: rules, their terms and the named contexts.

These frozen types are what ``load_rules`` returns and what ``Tagger``
compiles. Nothing here reads files or matches text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tagging.terms import TermPattern

ACTOR = "actor"
CATEGORY = "category"


@dataclass(frozen=True, slots=True)
class Term:
    """A term as written under a language key, with its compiled variants."""

    text: str
    lang: str
    line: int
    cased: bool  # must appear with exactly this capitalisation
    patterns: tuple[TermPattern, ...]


@dataclass(frozen=True)
class Context:
    """A named list of terms that rules use to veto (``unless``) or require (``near``)."""

    name: str
    line: int
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Rule:
    """One rule: when one of its terms matches, it tags ``target``."""

    id: str
    kind: str  # ACTOR or CATEGORY
    target: str
    line: int
    weight: float  # the category's weight; 0 for actors
    terms: tuple[Term, ...]
    excepts: tuple[Term, ...] = ()  # phrases that, covering a match, cancel it
    unless: tuple[str, ...] = ()  # contexts: any of them anywhere in the item vetoes
    unless_near: tuple[str, ...] = ()  # contexts: any of them within ``within`` words vetoes
    only_with: tuple[str, ...] = ()  # contexts: one of them must be somewhere in the item
    only_near: tuple[str, ...] = ()  # contexts: one of them must be within ``within`` words
    within: int = 3  # words, for unless_near and only_near (same field)
    requires_actor: bool = False  # a category that needs at least one actor
    strict_lang: bool = False  # terms only match items in their language (or of unknown one)
    note: str = ""


@dataclass(frozen=True)
class RuleSet:
    """A loaded, valid rules file."""

    path: Path
    source: str  # the file's text
    version: str  # sha256 of the file's bytes, first 16 hex characters
    rules: tuple[Rule, ...]
    contexts: tuple[Context, ...]
    actor_ids: tuple[str, ...]  # seeded and declared
    category_ids: tuple[str, ...]
    weights: dict[str, float] = field(default_factory=dict, compare=False)
    # position factors of a match (``model.Match.factor``): a title match weighs
    # ``title_factor``; a summary match in sentence k (from 0) 1 / (1 + decay * k)
    title_factor: float = 2.0
    summary_decay: float = 0.5

    @property
    def rule_count(self) -> int:
        return len(self.rules)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (``KeyError`` when there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
