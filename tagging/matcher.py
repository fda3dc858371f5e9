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

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import ahocorasick

from tagging.ruleset import RuleSet
from tagging.terms import LONGEST_PREFIX, NO_PREFIX, Tail, TermPattern

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


# A find, as ``scan`` reports it: field index, start, minus the end, rank of the rule's
# id (``rule_ranks``; 0 for a context), owner index, term index. Sorted, a rule's finds
# come in the order the tagger keeps and reports matches: by field, start, longest first.
Find = tuple[int, int, int, int, int, int]
_Entry = tuple[frozenset[str], int, int, int, int]  # prefixes allowed, kind, rank, owner, term


def rule_ranks(rules: RuleSet) -> list[int]:
    """Per rule index, the place of the rule's id among all ids in sorted order."""
    ranks = [0] * len(rules.rules)
    for place, r in enumerate(sorted(range(len(rules.rules)), key=lambda r: rules.rules[r].id)):
        ranks[r] = place
    return ranks


class _Key(NamedTuple):
    """What the automaton stores for one literal key: every pattern behind it, pre-sorted.

    Patterns of one key share its length and its left check; an EXACT pattern
    is the key itself, so its right-boundary test is the same for all of them
    and runs once per find.
    """

    length: int
    left_check: bool
    right_check: bool  # for the EXACT patterns
    any_prefix: bool  # some pattern accepts an attached prefix
    exact: tuple[_Entry, ...]
    word: tuple[_Entry, ...]
    regex: tuple[tuple[re.Pattern[str], _Entry], ...]


def _compile_key(key: str, entries: list[tuple[Slot, TermPattern]], ranks: list[int]) -> _Key:
    def entry(slot: Slot, p: TermPattern) -> _Entry:
        rank = ranks[slot.owner] if slot.kind != CONTEXT else 0
        return (p.prefixes, slot.kind, rank, slot.owner, slot.term)

    return _Key(
        length=len(key),
        left_check=entries[0][1].left_check,
        right_check=any(p.right_check for _, p in entries if p.tail is Tail.EXACT),
        any_prefix=any(p.prefixes != NO_PREFIX for _, p in entries),
        exact=tuple(entry(s, p) for s, p in entries if p.tail is Tail.EXACT),
        word=tuple(entry(s, p) for s, p in entries if p.tail is Tail.WORD),
        regex=tuple(
            (re.compile(p.regex), entry(s, p))
            for s, p in entries
            if p.tail is Tail.REGEX and p.regex is not None
        ),
    )


class Matcher:
    """All terms of a rule set, compiled once; safe to call from several threads."""

    def __init__(self, rules: RuleSet) -> None:
        by_key: dict[str, list[tuple[Slot, TermPattern]]] = {}
        for slot, pattern in iter_patterns(rules):
            entries = by_key.setdefault(pattern.key, [])
            if (slot, pattern) not in entries:
                entries.append((slot, pattern))
        self._automaton = ahocorasick.Automaton()
        ranks = rule_ranks(rules)
        for key, entries in by_key.items():
            compiled = _compile_key(key, entries, ranks)
            # the common shapes get short tuples that scan's fast branches tell
            # apart by their length: a whole word or phrase without prefixes
            # for one slot (5) or several (2), one-word wildcards without
            # prefixes (3), and a whole word or phrase of one slot that may
            # have attached prefixes (6)
            slots = tuple(entry[1:] for entry in compiled.exact + compiled.word)
            if _is_plain(compiled) and not compiled.word and len(slots) == 1:
                self._automaton.add_word(key, (compiled.length, *slots[0]))
            elif _is_prefixed_word(compiled):
                self._automaton.add_word(key, (compiled.length, *compiled.exact[0]))
            elif _is_plain(compiled) and not compiled.word:
                self._automaton.add_word(key, (compiled.length, slots))
            elif _is_plain(compiled) and not compiled.exact and " " not in key:
                self._automaton.add_word(key, (compiled.length, slots, None))
            else:
                self._automaton.add_word(key, compiled)
        if by_key:
            self._automaton.make_automaton()
        self._empty = not by_key

    def find_hits(self, text: str) -> list[Hit]:
        """Every match of every term in folded ``text``, in no particular order."""
        found: tuple[list[Find], list[Find], list[Find]] = ([], [], [])
        self.scan((text,), found)
        return [
            Hit(start, -neg_end, Slot(kind, owner, term))
            for kind, finds in enumerate(found)
            for _, start, neg_end, _, owner, term in finds
        ]

    def scan(self, texts: Sequence[str], out: tuple[list[Find], list[Find], list[Find]]) -> None:
        """Append every match in each folded text of ``texts`` (field 0, 1, ...) to
        ``out[kind]`` as a ``Find``.

        ``out`` is indexed by slot kind (TERM, EXCEPT, CONTEXT), so the tagger
        gets its candidates, except phrases and context terms already apart.
        This is the hot loop of tagging: it does only character tests.
        """
        if self._empty:
            return
        add = (out[0].append, out[1].append, out[2].append)
        for field, text in enumerate(texts):
            # ``bound[i].isalnum()`` tells whether text[i] is a word character (the
            # underscore made a letter), and is False just outside the text: at
            # bound[-1] and bound[len(text)], the space added at its end
            bound = (text.replace("_", "a") if "_" in text else text) + " "
            for last, value in self._automaton.iter(text):
                end = last + 1
                size = len(value)
                if size == 5:
                    length, kind, rank, owner, term = value
                    start = end - length
                    if bound[start - 1].isalnum() or bound[end].isalnum():
                        continue
                    add[kind]((field, start, -end, rank, owner, term))
                    continue
                if size == 6:
                    length, prefixes, kind, rank, owner, term = value
                    start = end - length
                    if bound[end].isalnum():
                        continue
                    if bound[start - 1].isalnum():
                        if _attached_prefix(text, start) not in prefixes:
                            continue
                    elif "" not in prefixes:
                        continue
                    add[kind]((field, start, -end, rank, owner, term))
                    continue
                if size == 2:
                    length, slots = value
                    start = end - length
                    if bound[start - 1].isalnum() or bound[end].isalnum():
                        continue
                    for kind, rank, owner, term in slots:
                        add[kind]((field, start, -end, rank, owner, term))
                    continue
                if size == 3:
                    length, slots, _ = value
                    start = end - length
                    if bound[start - 1].isalnum():
                        continue
                    while bound[end].isalnum():
                        end += 1
                    for kind, rank, owner, term in slots:
                        add[kind]((field, start, -end, rank, owner, term))
                    continue
                length, left_check, right_check, any_prefix, exact, word, regex = value
                start = end - length
                prefix = ""
                if left_check and bound[start - 1].isalnum():
                    if not any_prefix:
                        continue
                    attached = _attached_prefix(text, start)
                    if attached is None:
                        continue
                    prefix = attached
                if exact and not (right_check and bound[end].isalnum()):
                    for prefixes, kind, rank, owner, term in exact:
                        if prefix in prefixes:
                            add[kind]((field, start, -end, rank, owner, term))
                if word:
                    stop = end
                    while bound[stop].isalnum():
                        stop += 1
                    for prefixes, kind, rank, owner, term in word:
                        if prefix in prefixes:
                            add[kind]((field, start, -stop, rank, owner, term))
                for pattern, (prefixes, kind, rank, owner, term) in regex:
                    if prefix in prefixes:
                        m = pattern.match(text, start)
                        if m is not None:
                            add[kind]((field, start, -m.end(), rank, owner, term))


def _is_plain(key: _Key) -> bool:
    """No regex tails, no attached prefixes, a word character at each end of the key."""
    return (
        not key.regex
        and not key.any_prefix
        and key.left_check
        and (key.right_check or not key.exact)
    )


def _is_prefixed_word(key: _Key) -> bool:
    """One whole word or phrase that may have attached prefixes, a word character at
    each end of the key."""
    return (
        len(key.exact) == 1
        and not key.word
        and not key.regex
        and key.any_prefix
        and key.left_check
        and key.right_check
    )


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
