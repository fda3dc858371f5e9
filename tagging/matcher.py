"""The compiled matcher: every term of a rules file in one Aho-Corasick automaton.

``Matcher(rules).find_hits(text)`` scans folded text once and returns every
place where a term matches under the rules of ``tagging.terms`` (whole
words, trailing wildcards, Arabic and Hebrew attached prefixes). A hit
names its ``Slot``: a rule's term, one of a rule's ``except`` phrases, or a
context's term. Deciding what the hits mean (vetoes, actors, categories) is
``tagging.tagger``'s job.

The automaton finds each term's literal ``key``; the checks around it are a
few character tests, with a regular expression only for phrases that have a
``*`` before their last word.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import ahocorasick

from tagging.ruleset import RuleSet
from tagging.terms import LONGEST_PREFIX, Tail, TermPattern

TERM = 0  # a rule's own term (``terms`` or ``cased``)
EXCEPT = 1  # a rule's ``except`` phrase
CONTEXT = 2  # a context's term


class Slot(NamedTuple):
    """Who owns a term: (TERM | EXCEPT, rule index) or (CONTEXT, context index)."""

    kind: int
    owner: int
    term: int  # index in the owner's term list


class Hit(NamedTuple):
    """One term found in folded text: ``text[start:end]``."""

    start: int
    end: int
    slot: Slot


def iter_patterns(rules: RuleSet) -> Iterator[tuple[Slot, TermPattern]]:
    """Every compiled pattern of ``rules`` with its slot, in file order."""
    for r, rule in enumerate(rules.rules):
        for t, term in enumerate(rule.terms):
            for pattern in term.patterns:
                yield Slot(TERM, r, t), pattern
        for t, term in enumerate(rule.excepts):
            for pattern in term.patterns:
                yield Slot(EXCEPT, r, t), pattern
    for c, context in enumerate(rules.contexts):
        for t, term in enumerate(context.terms):
            for pattern in term.patterns:
                yield Slot(CONTEXT, c, t), pattern


class Matcher:
    """All terms of a rule set, compiled once; ``find_hits`` is safe to call from threads."""

    def __init__(self, rules: RuleSet) -> None:
        by_key: dict[str, list[tuple[Slot, TermPattern]]] = {}
        for slot, pattern in iter_patterns(rules):
            entries = by_key.setdefault(pattern.key, [])
            if (slot, pattern) not in entries:
                entries.append((slot, pattern))
        self._automaton = ahocorasick.Automaton()
        for key, entries in by_key.items():
            left_check = entries[0][1].left_check
            self._automaton.add_word(key, (len(key), left_check, tuple(entries)))
        if by_key:
            self._automaton.make_automaton()
        self._empty = not by_key

    def find_hits(self, text: str) -> list[Hit]:
        """Every match of every term in folded ``text``, in no particular order."""
        if self._empty:
            return []
        hits: list[Hit] = []
        n = len(text)
        for last, (key_len, left_check, entries) in self._automaton.iter(text):
            start = last - key_len + 1
            end = last + 1
            prefix: str | None = ""
            if left_check and start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
                prefix = _attached_prefix(text, start)
                if prefix is None:
                    continue
            for slot, pattern in entries:
                if prefix not in pattern.prefixes:
                    continue
                stop = _term_end(text, n, start, end, pattern)
                if stop >= 0:
                    hits.append(Hit(start, stop, slot))
        return hits


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _attached_prefix(text: str, start: int) -> str | None:
    """The word characters between the word's start and ``start``; None if too many."""
    j = start
    while j > 0 and _is_word(text[j - 1]):
        j -= 1
        if start - j > LONGEST_PREFIX:
            return None
    return text[j:start]


def _term_end(text: str, n: int, start: int, end: int, pattern: TermPattern) -> int:
    """Where the term found at ``start`` ends, or -1 when it does not match there."""
    if pattern.tail is Tail.EXACT:
        if pattern.right_check and end < n and (text[end].isalnum() or text[end] == "_"):
            return -1
        return end
    if pattern.tail is Tail.WORD:
        while end < n and _is_word(text[end]):
            end += 1
        return end
    assert pattern.regex is not None
    found = pattern.regex.match(text, start)
    return found.end() if found else -1
