"""The tagger: from an item's title and summary to a ``model.Tagging``.

``Tagger(rules).tag(title, summary, lang)`` decides, in this order:

1. fold each field (``tagging.text``) and find every term in it
   (``tagging.matcher``): rule terms, ``except`` phrases, context terms;
2. drop a rule's match when its term is ``cased`` and the original text does
   not have that capitalisation, when the rule is ``strict_lang`` and the
   item's language is known and differs from the term's, or when one of the
   rule's ``except`` phrases covers it;
3. drop it when a context listed under ``unless`` occurs anywhere in the
   item, or one under ``unless_near`` within ``within`` words in the same
   sentence; drop it too when no context of ``only_with`` occurs in the
   item, or none of ``only_near`` within ``within`` words in the same
   sentence (a sentence ends at ``.`` ``!`` ``?`` or ``;`` before a space);
4. the actors are the targets of the actor matches left; a category match
   from a rule with ``requires_actor`` is dropped when there is none;
5. a match lying inside a longer match of the same rule is dropped; every
   match left is reported with offsets into the original field text.

Contexts never tag anything by themselves. The verdict depends only on the
rules and the text: the same inputs always give the same ``Tagging``.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from model import Match, Tagging
from tagging.matcher import CONTEXT, Find, Hit, Matcher, rule_ranks
from tagging.ruleset import ACTOR, Rule, RuleSet
from tagging.terms import body_regex
from tagging.text import NormalisedText, normalise_keep_case, normalise_text, sentence_ends

FIELDS = ("title", "summary")
_DECIDED_MAX = 4096  # remembered per-item decisions and languages, per tagger
# where a word of text.WORD starts; the lookbehind sees before ``pos``
_WORD_START = re.compile(r"(?<!\w)\w\w")


class HitFinder(Protocol):
    def find_hits(self, text: str) -> list[Hit]: ...


class _Field:
    """One field of the item being tagged: its name, original text and folded text."""

    __slots__ = ("_sentence_ends", "folded", "name", "original")

    def __init__(self, name: str, original: str, folded: NormalisedText) -> None:
        self.name = name
        self.original = original
        self.folded = folded
        self._sentence_ends: list[int] | None = None

    def sentence_ends(self) -> list[int]:
        """Where each sentence of the folded text ends (``text.SENTENCE_END``).

        ``bisect_left(sentence_ends(), position)`` counts the sentences that
        end before ``position``: 0 in the first sentence.
        """
        if self._sentence_ends is None:
            self._sentence_ends = sentence_ends(self.folded.text)
        return self._sentence_ends


def _distance(f: _Field, a_start: int, a_end: int, b_start: int, b_end: int) -> int | None:
    """Words from one span to the other (0 if they overlap); None across a sentence end.

    Counted in ``text.WORD`` words: from the word holding the first span's
    last character to the word holding the second span's first character,
    that is the words starting from the first span's end up to the second
    span's start. ``_WORD_START`` finds exactly where ``WORD``'s words start
    (a run of two word characters or more), without listing the whole field.
    """
    if b_start < a_start:
        a_start, a_end, b_start, b_end = b_start, b_end, a_start, a_end
    if b_start < a_end:
        return 0
    ends = f._sentence_ends
    if ends is None:
        ends = f.sentence_ends()
    i = bisect_left(ends, a_end)
    if i < len(ends) and ends[i] < b_start:  # a sentence ends between the spans
        return None
    return len(_WORD_START.findall(f.folded.text, a_end, b_start + 2))


def _lang(lang: str) -> str:
    return re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]


class _RulePlan(NamedTuple):
    """A rule's decisions, precomputed so that ``tag`` does set tests, not lookups."""

    rule: Rule
    item_checks: bool  # unless or only_with: decided once per item
    position_checks: bool  # strict_lang, cased, except, *_near: decided per match
    strict_lang: bool
    cased: frozenset[int]  # indices of cased terms
    has_except: bool
    unless: frozenset[int]  # context indices
    only_with: frozenset[int]
    unless_near: frozenset[int]
    only_near: frozenset[int]
    within: int


def _plan(rule: Rule, names: dict[str, int]) -> _RulePlan:
    def ids(group: tuple[str, ...]) -> frozenset[int]:
        return frozenset(names[n] for n in group)

    cased = frozenset(t for t, term in enumerate(rule.terms) if term.cased)
    return _RulePlan(
        rule=rule,
        item_checks=bool(rule.unless or rule.only_with),
        position_checks=bool(
            rule.strict_lang or cased or rule.excepts or rule.unless_near or rule.only_near
        ),
        strict_lang=rule.strict_lang,
        cased=cased,
        has_except=bool(rule.excepts),
        unless=ids(rule.unless),
        only_with=ids(rule.only_with),
        unless_near=ids(rule.unless_near),
        only_near=ids(rule.only_near),
        within=rule.within,
    )


_Finds = tuple[list[Find], list[Find], list[Find]]


class _HitScanner:
    """Adapts any ``HitFinder`` (the reference regex matcher) to ``Matcher.scan``."""

    def __init__(self, finder: HitFinder, ranks: list[int]) -> None:
        self.finder = finder
        self.ranks = ranks

    def scan(self, texts: Sequence[str], out: _Finds) -> None:
        for field, text in enumerate(texts):
            for start, end, (kind, owner, term) in self.finder.find_hits(text):
                rank = self.ranks[owner] if kind != CONTEXT else 0
                out[kind].append((field, start, -end, rank, owner, term))


class Tagger:
    """A rule set compiled once; ``tag`` may be called from several threads."""

    def __init__(self, rules: RuleSet, finder: HitFinder | None = None) -> None:
        self.rules = rules
        self._rank = rule_ranks(rules)  # rule index -> place of its id in sorted order
        self._finder = finder
        names = {context.name: i for i, context in enumerate(rules.contexts)}
        self._plans = [_plan(rule, names) for rule in rules.rules]
        # per context, the rules it vetoes anywhere (unless) or may veto nearby
        # (unless_near); the rules that need a context (only_with, only_near)
        self._vetoed_by: list[set[int]] = [set() for _ in rules.contexts]
        self._near_vetoed_by: list[set[int]] = [set() for _ in rules.contexts]
        for r, plan in enumerate(self._plans):
            for c in plan.unless:
                self._vetoed_by[c].add(r)
            for c in plan.unless_near:
                self._near_vetoed_by[c].add(r)
        self._requiring = [
            (r, group)
            for r, plan in enumerate(self._plans)
            for group in (plan.only_with, plan.only_near)
            if group
        ]
        self._always_checked = {r for r, p in enumerate(self._plans) if p.cased or p.only_near}
        self._with_except = {r for r, p in enumerate(self._plans) if p.has_except}
        self._strict_lang = {r for r, p in enumerate(self._plans) if p.strict_lang}
        # per rule index, the actor or the category it tags ("" for the other kind)
        self._actor_of = [r.target if r.kind == ACTOR else "" for r in rules.rules]
        self._category_of = ["" if r.kind == ACTOR else r.target for r in rules.rules]
        self._info = [(rule.id, rule.kind, rule.target, rule.weight) for rule in rules.rules]
        self._requires_actor = [rule.requires_actor for rule in rules.rules]
        # per cased term, the text it must show: the term itself, or a pattern when
        # it has a wildcard
        self._cased: dict[tuple[int, int], str | re.Pattern[str]] = {}
        for r, rule in enumerate(rules.rules):
            for t, term in enumerate(rule.terms):
                if term.cased:
                    kept = normalise_keep_case(term.text).strip()
                    literal = "*" not in kept
                    self._cased[(r, t)] = kept if literal else re.compile(body_regex(kept))
        self._title_factor = rules.title_factor
        self._decay = rules.summary_decay
        self._empty = Tagging(actors=(), categories=(), matches=(), rules_version=rules.version)
        self._langs: dict[str, str] = {}  # item language as given -> its primary subtag
        # (contexts present, rules excepted, language) -> _sort_rules' answer
        self._decided: dict[
            tuple[frozenset[int], frozenset[int], str], tuple[list[bool], list[bool]]
        ] = {}

    @functools.cached_property
    def _scanner(self) -> Matcher | _HitScanner:
        """The compiled automaton, built at the first ``tag``: a collector whose pass has
        nothing new to tag (every feed answers 304), or whose worker processes tag for
        it, never needs its own (50 ms for the seeded rules)."""
        if self._finder is None:
            return Matcher(self.rules)
        return _HitScanner(self._finder, self._rank)

    @property
    def version(self) -> str:
        return self.rules.version

    def tag(self, title: str, summary: str, lang: str = "") -> Tagging:
        """Tag one item; see the module docstring for the order of decisions."""
        folded_title, folded_summary = normalise_text(title), normalise_text(summary)
        found: _Finds = ([], [], [])
        self._scanner.scan((folded_title.text, folded_summary.text), found)
        candidates, excepts, contexts = found
        if not candidates:
            return self._empty
        fields = (
            _Field("title", title, folded_title),
            _Field("summary", summary, folded_summary),
        )
        item_lang = self._langs.get(lang)
        if item_lang is None:
            item_lang = _lang(lang) if lang else ""
            if len(self._langs) < _DECIDED_MAX:
                self._langs[lang] = item_lang
        key = (
            frozenset([c[4] for c in contexts]),
            frozenset([e[4] for e in excepts]),
            item_lang,
        )
        decided = self._decided.get(key)
        if decided is None:
            decided = self._sort_rules(*key)
            if len(self._decided) < _DECIDED_MAX:
                self._decided[key] = decided
        as_is, checked = decided
        kept = [c for c in candidates if as_is[c[4]]]
        for candidate in [c for c in candidates if checked[c[4]]]:
            if self._position_holds(candidate, fields, item_lang, excepts, contexts):
                kept.append(candidate)
        actor_of = self._actor_of
        actors = {actor_of[k[4]] for k in kept}
        actors.discard("")
        if not actors:
            needs_actor = self._requires_actor
            kept = [k for k in kept if not needs_actor[k[4]]]
        category_of = self._category_of
        categories = {category_of[k[4]] for k in kept}
        categories.discard("")
        return _new_tagging(
            tuple(sorted(actors)),
            tuple(sorted(categories)),
            self._matches(fields, kept),
            self.rules.version,
        )

    def _sort_rules(
        self, present: frozenset[int], excepted: frozenset[int], item_lang: str
    ) -> tuple[list[bool], list[bool]]:
        """Per rule index, whether its matches are kept as they stand (not vetoed by
        this item as a whole, nor to be checked), and whether they need checking.

        ``present`` holds the contexts found in the item and ``excepted`` the
        rules with an except phrase found in it: sets built once per item, so
        each candidate match costs two list indexings (cheaper than set
        lookups). The answer depends on these three values alone, and few
        combinations occur: ``tag`` keeps them (``_decided``), and never
        changes the lists returned.
        """
        dropped: set[int] = set()
        checked = set(self._always_checked)
        for c in present:
            dropped |= self._vetoed_by[c]
            checked |= self._near_vetoed_by[c]
        for r, required in self._requiring:
            if required.isdisjoint(present):
                dropped.add(r)
        checked |= excepted & self._with_except
        if item_lang:
            checked |= self._strict_lang
        not_as_is = dropped | checked
        to_check = checked - dropped
        rules = range(len(self._plans))
        return [r not in not_as_is for r in rules], [r in to_check for r in rules]

    def _position_holds(
        self,
        candidate: Find,
        fields: tuple[_Field, _Field],
        item_lang: str,
        excepts: list[Find],
        contexts: list[Find],
    ) -> bool:
        """Whether a match survives the checks that depend on where it is."""
        f_index, start, neg_end, _, r, t = candidate
        end = -neg_end
        # unpacked at once: each attribute read of a named tuple is a descriptor call
        rule, _, _, strict_lang, cased, has_except, _, _, unless_near, only_near, within = (
            self._plans[r]
        )
        if strict_lang and item_lang and rule.terms[t].lang != item_lang:
            return False
        if t in cased and not self._case_holds(fields[f_index], start, end, r, t):
            return False
        if has_except:
            for e_field, e_start, e_neg_end, _, e_rule, _ in excepts:
                if e_rule == r and e_field == f_index and e_start <= start and e_neg_end <= neg_end:
                    return False
        if unless_near and _near(fields, candidate, unless_near, within, contexts):
            return False
        return not (only_near and not _near(fields, candidate, only_near, within, contexts))

    def _case_holds(self, f: _Field, start: int, end: int, r: int, t: int) -> bool:
        s, e = f.folded.source_span(start, end)
        surface = f.original[s:e]
        if not (surface.isascii() and surface.isalnum()):  # ASCII letters fold to themselves
            surface = normalise_keep_case(surface)
        expected = self._cased[(r, t)]
        if isinstance(expected, str):
            return surface == expected
        return expected.fullmatch(surface) is not None

    def _matches(self, fields: tuple[_Field, _Field], kept: list[Find]) -> tuple[Match, ...]:
        """The outermost matches, offsets into the original text, by field, start, end, rule id.

        A match lying inside another match of the same rule in the same field
        is dropped (on folded offsets): sorted by field, start and decreasing
        end, a match is inside an earlier one of its rule exactly when that
        rule has already reached as far. That order is the output order but
        where one start has several ends, or offsets were mapped back to the
        original text: then the matches sort once more (without a map, field,
        start, end and rule id are never all equal: two such matches would be
        one rule's, nested).
        """
        kept.sort()
        info = self._info
        # per rule and field (index r + r + field), the furthest end kept so far: a
        # list, indexed faster than a dict is looked up
        reach = [-1] * (2 * len(info))
        title, summary = fields
        mapped = title.folded.origin is not None or summary.folded.origin is not None
        resort = False
        title_factor, decay = self._title_factor, self._decay
        title_text, summary_text = title.original, summary.original
        ends: list[int] | None = None  # where the summary's sentences end, once needed
        new = _tuple_new
        out: list[Match] = []
        # with a map, the output order of each match (its folded start breaks ties)
        order: list[tuple[int, int, int, int, int]] = []
        last_field = last_start = -1
        for f, start, neg_end, place, r, _ in kept:
            key = r + r + f
            end = -neg_end
            if reach[key] >= end:
                continue
            reach[key] = end
            if start == last_start and f == last_field:
                resort = True
            last_field, last_start = f, start
            rule_id, kind, target, weight = info[r]
            if f == 0:
                factor, name, original = title_factor, "title", title_text
            else:
                if not decay:
                    factor = 1.0
                else:
                    if ends is None:
                        ends = summary.sentence_ends()
                    factor = 1.0 / (1.0 + decay * bisect_left(ends, start))  # folded start
                name, original = "summary", summary_text
            if mapped:
                hit_start = start
                start, end = fields[f].folded.source_span(start, end)
                order.append((f, start, end, place, hit_start))
            out.append(
                new(
                    Match,
                    (rule_id, kind, target, name, start, end, original[start:end], weight, factor),
                )
            )
        if mapped:
            out = [out[k] for k in sorted(range(len(out)), key=order.__getitem__)]
        elif resort:
            out.sort(key=_output_order)
        return tuple(out)


_tuple_new = tuple.__new__  # builds a Match from its fields in order, without __new__'s call


def _new_tagging(
    actors: tuple[str, ...], categories: tuple[str, ...], matches: tuple[Match, ...], version: str
) -> Tagging:
    """``Tagging(actors, categories, matches, version)`` without the frozen ``__init__``
    (one ``object.__setattr__`` per field, a microsecond an item); tests check both are
    equal."""
    tagging = _object_new(Tagging)
    _object_setattr(
        tagging,
        "__dict__",
        {"actors": actors, "categories": categories, "matches": matches, "rules_version": version},
    )
    return tagging


_object_new = object.__new__
_object_setattr = object.__setattr__
if hasattr(Tagging, "__slots__") or hasattr(Tagging, "__post_init__"):  # pragma: no cover
    raise ImportError("model.Tagging changed shape: rebuild tagging.tagger._new_tagging")


def _output_order(m: Match) -> tuple[bool, int, int, str]:
    return (m.field != "title", m.start, m.end, m.rule)


def _near(
    fields: tuple[_Field, _Field],
    candidate: Find,
    wanted: frozenset[int],
    within: int,
    contexts: list[Find],
) -> bool:
    """True when a term of a ``wanted`` context is within ``within`` words, same sentence.

    Only the nearest such term on each side can be the one: a term ending
    later (before the match) or starting earlier (after it) has a subset of
    the words and sentence ends in between, so the words are counted twice
    at most, however many terms the context has in the field.
    """
    f_index, start, neg_end, _, _, _ = candidate
    end = -neg_end
    before: tuple[int, int] | None = None  # the nearest wanted term ending before the match
    after: tuple[int, int] | None = None  # and the nearest starting after it
    for context in contexts:
        # most of the item's context terms are some other context's: test before unpacking
        if context[4] not in wanted or context[0] != f_index:
            continue
        _, c_start, c_neg_end, _, _, _ = context
        c_end = -c_neg_end
        if c_start < start:
            if start < c_end:
                return True  # overlapping: 0 words
            if before is None or c_end > before[1]:
                before = (c_start, c_end)
        else:
            if c_start < end:
                return True
            if after is None or c_start < after[0]:
                after = (c_start, c_end)
    f = fields[f_index]
    for nearest in (before, after):
        if nearest is not None:
            distance = _distance(f, start, end, *nearest)
            if distance is not None and distance <= within:
                return True
    return False
