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

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Protocol

from model import Match, Tagging
from tagging.matcher import CONTEXT, EXCEPT, Hit, Matcher
from tagging.ruleset import ACTOR, Rule, RuleSet
from tagging.terms import body_regex
from tagging.text import SENTENCE_END, WORD, NormalisedText, normalise_keep_case, normalise_text

FIELDS = ("title", "summary")


class HitFinder(Protocol):
    def find_hits(self, text: str) -> list[Hit]: ...


@dataclass
class _Field:
    name: str
    original: str
    folded: NormalisedText
    hits: list[Hit]
    _word_starts: list[int] | None = field(default=None)
    _sentence_ends: list[int] | None = field(default=None)

    def word_span(self, start: int, end: int) -> tuple[int, int]:
        """Indices of the first and last words of ``folded.text[start:end]``."""
        if self._word_starts is None:
            self._word_starts = [m.start() for m in WORD.finditer(self.folded.text)]
        return (
            bisect_right(self._word_starts, start) - 1,
            bisect_right(self._word_starts, end - 1) - 1,
        )

    def sentence_break(self, start: int, end: int) -> bool:
        """True when a sentence ends between ``start`` and ``end``."""
        if self._sentence_ends is None:
            self._sentence_ends = [m.start() for m in SENTENCE_END.finditer(self.folded.text)]
        i = bisect_left(self._sentence_ends, start)
        return i < len(self._sentence_ends) and self._sentence_ends[i] < end


def _distance(f: _Field, a: tuple[int, int], b: tuple[int, int]) -> int | None:
    """Words from one span to the other (0 if they overlap); None across a sentence end."""
    if b[0] < a[0]:
        a, b = b, a
    if b[0] >= a[1] and f.sentence_break(a[1], b[0]):
        return None
    _, a_last = f.word_span(*a)
    b_first, _ = f.word_span(*b)
    return max(0, b_first - a_last)


def _lang(lang: str) -> str:
    return re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]


class Tagger:
    """A rule set compiled once; ``tag`` may be called from several threads."""

    def __init__(self, rules: RuleSet, finder: HitFinder | None = None) -> None:
        self.rules = rules
        self._finder: HitFinder = finder if finder is not None else Matcher(rules)
        names = {context.name: i for i, context in enumerate(rules.contexts)}
        self._checks = [
            tuple(
                (tuple(names[n] for n in group), within, veto)
                for group, within, veto in (
                    (rule.unless, None, True),
                    (rule.unless_near, rule.within, True),
                    (rule.only_with, None, False),
                    (rule.only_near, rule.within, False),
                )
                if group
            )
            for rule in rules.rules
        ]
        self._cased: dict[tuple[int, int], re.Pattern[str]] = {}
        for r, rule in enumerate(rules.rules):
            for t, term in enumerate(rule.terms):
                if term.cased:
                    kept = normalise_keep_case(term.text).strip()
                    self._cased[(r, t)] = re.compile(body_regex(kept))

    @property
    def version(self) -> str:
        return self.rules.version

    def tag(self, title: str, summary: str, lang: str = "") -> Tagging:
        """Tag one item; see the module docstring for the order of decisions."""
        fields = []
        for name, original in zip(FIELDS, (title, summary), strict=True):
            folded = normalise_text(original)
            fields.append(_Field(name, original, folded, self._finder.find_hits(folded.text)))
        contexts: dict[int, list[tuple[int, int, int]]] = {}
        excepts: dict[tuple[int, int], list[tuple[int, int]]] = {}
        candidates: list[tuple[int, Hit]] = []
        for f_index, f in enumerate(fields):
            for hit in f.hits:
                kind, owner, _ = hit.slot
                if kind == CONTEXT:
                    contexts.setdefault(owner, []).append((f_index, hit.start, hit.end))
                elif kind == EXCEPT:
                    excepts.setdefault((f_index, owner), []).append((hit.start, hit.end))
                else:
                    candidates.append((f_index, hit))
        item_lang = _lang(lang)
        kept: list[tuple[int, Hit, Rule]] = []
        for f_index, hit in candidates:
            r = hit.slot.owner
            rule = self.rules.rules[r]
            term = rule.terms[hit.slot.term]
            f = fields[f_index]
            if rule.strict_lang and item_lang and term.lang != item_lang:
                continue
            if term.cased and not self._case_holds(f, hit, r):
                continue
            spans = excepts.get((f_index, r), ())
            if any(s <= hit.start and hit.end <= e for s, e in spans):
                continue
            if any(
                _context_close(fields, f_index, hit, wanted, within, contexts) == veto
                for wanted, within, veto in self._checks[r]
            ):
                continue
            kept.append((f_index, hit, rule))
        actors = {rule.target for _, _, rule in kept if rule.kind == ACTOR}
        if not actors:
            kept = [k for k in kept if not k[2].requires_actor]
        matches = _matches(fields, _outermost(kept))
        return Tagging(
            actors=tuple(sorted(actors)),
            categories=tuple(sorted({m.target for m in matches if m.kind != ACTOR})),
            matches=matches,
            rules_version=self.rules.version,
        )

    def _case_holds(self, f: _Field, hit: Hit, rule_index: int) -> bool:
        start, end = f.folded.source_span(hit.start, hit.end)
        surface = normalise_keep_case(f.original[start:end])
        return self._cased[(rule_index, hit.slot.term)].fullmatch(surface) is not None


def _context_close(
    fields: list[_Field],
    f_index: int,
    hit: Hit,
    wanted: tuple[int, ...],
    within: int | None,
    contexts: dict[int, list[tuple[int, int, int]]],
) -> bool:
    for c in wanted:
        for c_field, c_start, c_end in contexts.get(c, ()):
            if within is None:
                return True
            if c_field != f_index:
                continue
            f = fields[f_index]
            distance = _distance(f, (hit.start, hit.end), (c_start, c_end))
            if distance is not None and distance <= within:
                return True
    return False


def _outermost(kept: list[tuple[int, Hit, Rule]]) -> list[tuple[int, Hit, Rule]]:
    """Drop each match that lies inside another match of the same rule in the same field."""
    ordered = sorted(kept, key=lambda k: (k[2].id, k[0], k[1].start, -k[1].end))
    out: list[tuple[int, Hit, Rule]] = []
    for item in ordered:
        f_index, hit, rule = item
        if out:
            p_index, p_hit, p_rule = out[-1]
            same = p_rule.id == rule.id and p_index == f_index
            if same and p_hit.start <= hit.start and hit.end <= p_hit.end:
                continue
        out.append(item)
    return out


def _matches(fields: list[_Field], kept: list[tuple[int, Hit, Rule]]) -> tuple[Match, ...]:
    out = []
    for f_index, hit, rule in kept:
        f = fields[f_index]
        start, end = f.folded.source_span(hit.start, hit.end)
        out.append(
            Match(
                rule=rule.id,
                kind=rule.kind,
                target=rule.target,
                field=f.name,
                start=start,
                end=end,
                text=f.original[start:end],
                weight=rule.weight,
            )
        )
    order = {name: i for i, name in enumerate(FIELDS)}
    return tuple(sorted(out, key=lambda m: (order[m.field], m.start, m.end, m.rule)))
