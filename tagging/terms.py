"""One rules-file term, compiled into what the matcher looks for.

A term is a word or a phrase as written in the rules file. It is folded with
``text.normalise`` and then obeys these rules:

- it matches whole words only: the characters just before and after it must
  not be word characters (so ``UN`` never matches inside ``under``, nor
  ``Israel`` inside ``Israeli``);
- a ``*`` ending a word makes that word a prefix: ``attack*`` matches
  ``attack``, ``attacks``, ``attacked``; in a phrase each word may end with
  one (``recall* ambassador*``). A ``*`` anywhere else, alone, or after fewer
  than three letters is an error;
- a term written in Arabic script also matches with attached prefixes in
  front of it: the conjunctions و ف, the prepositions ب ك ل, the article ال
  and their combinations (``والمغرب``, ``بالجزائر``); a term that starts with
  the article also matches the fused ``لل`` form (``للبوليساريو``). Hebrew
  terms likewise accept up to three of the prefix letters ו ה ב כ ל מ ש.

``compile_term`` returns one ``TermPattern`` per surface variant (two for
Arabic terms that start with ال). The automaton finds ``key`` (the term up to
its first ``*``); the pattern says how to check and extend each find.
``term_regex`` builds the equivalent stand-alone regular expression, used as
the reference implementation the automaton is tested and benchmarked against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from itertools import product

from tagging.text import is_word_char, normalise

MIN_STEM = 3  # letters before a '*'


class TermError(ValueError):
    """A term that cannot be compiled; the message says what is wrong."""


class Tail(Enum):
    EXACT = "exact"  # the key is the whole term
    WORD = "word"  # one trailing '*': extend over the rest of the word
    REGEX = "regex"  # '*' inside a phrase: check the whole term with ``regex``


def _prefix_set(starts: tuple[str, ...], middles: tuple[str, ...]) -> frozenset[str]:
    return frozenset(a + b for a, b in product(starts, middles))


_AR_CONJ = ("", "و", "ف")
ARABIC_PREFIXES = _prefix_set(_AR_CONJ, ("", "ب", "ك", "ل", "ال", "بال", "كال", "لل"))
ARABIC_PREFIXES_BEFORE_ARTICLE = _prefix_set(_AR_CONJ, ("", "ب", "ك"))
ARABIC_PREFIXES_FUSED = frozenset(_AR_CONJ)
HEBREW_PREFIXES = frozenset("".join(p) for n in range(4) for p in product("ובהכלמש", repeat=n))
NO_PREFIX = frozenset({""})
LONGEST_PREFIX = max(len(p) for p in ARABIC_PREFIXES | HEBREW_PREFIXES)


@dataclass(frozen=True, slots=True)
class TermPattern:
    """One surface variant of a term, ready for the automaton."""

    norm: str  # the folded variant, '*' included
    key: str  # the literal text the automaton finds: ``norm`` up to its first '*'
    tail: Tail
    # for Tail.REGEX: the regex that matches the term at the key's start, compiled by
    # the matcher (a collector whose pass tags nothing never compiles it)
    regex: str | None
    prefixes: frozenset[str]  # attached prefixes allowed between a word start and the key
    left_check: bool  # the key starts with a word character
    right_check: bool  # Tail.EXACT and the term ends with a word character


def _script(c: str) -> str:
    code = ord(c)
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F:
        return "arabic"
    if 0x0590 <= code <= 0x05FF:
        return "hebrew"
    return "other"


def _check_wildcards(norm: str) -> None:
    for word in norm.split(" "):
        if "*" not in word:
            continue
        if word.strip("*") == "":
            raise TermError(f"'{word}' is not a wildcard: put '*' at the end of a word (attack*)")
        stem = word[:-1]
        if not word.endswith("*") or "*" in stem:
            raise TermError(
                f"'*' may only end a word (attack*), not start it or sit inside it: '{word}'"
            )
        if len(stem) < MIN_STEM or not is_word_char(stem[-1]):
            raise TermError(f"wildcard '{word}' needs at least {MIN_STEM} letters before the '*'")


def body_regex(norm: str) -> str:
    """The regex of a folded term without its left boundary (the matcher checks that)."""
    words = []
    for word in norm.split(" "):
        if word.endswith("*"):
            words.append(re.escape(word[:-1]) + r"\w*")
        else:
            words.append(re.escape(word))
    body = " ".join(words)
    if not norm.endswith("*") and is_word_char(norm[-1]):
        body += r"(?!\w)"
    return body


def _pattern(norm: str, prefixes: frozenset[str]) -> TermPattern:
    star = norm.find("*")
    if star < 0:
        tail, key = Tail.EXACT, norm
    elif star == len(norm) - 1:
        tail, key = Tail.WORD, norm[:-1]
    else:
        tail, key = Tail.REGEX, norm[:star]
    regex = body_regex(norm) if tail is Tail.REGEX else None
    return TermPattern(
        norm=norm,
        key=key,
        tail=tail,
        regex=regex,
        prefixes=prefixes,
        left_check=is_word_char(norm[0]),
        right_check=tail is Tail.EXACT and is_word_char(norm[-1]),
    )


def compile_term(raw: str) -> tuple[TermPattern, ...]:
    """Compile a term as written in the rules file; ``TermError`` says what is wrong."""
    norm = normalise(raw).strip()
    if not norm:
        raise TermError("empty term")
    _check_wildcards(norm)
    if not any(is_word_char(c) for c in norm):
        raise TermError(f"term {raw!r} has no letters or digits")
    script = _script(norm[0])
    if script == "hebrew":
        return (_pattern(norm, HEBREW_PREFIXES),)
    if script != "arabic":
        return (_pattern(norm, NO_PREFIX),)
    first_word = norm.split(" ")[0].rstrip("*")
    if first_word.startswith("ال") and len(first_word) > 3:
        return (
            _pattern(norm, ARABIC_PREFIXES_BEFORE_ARTICLE),
            _pattern("لل" + norm[2:], ARABIC_PREFIXES_FUSED),
        )
    return (_pattern(norm, ARABIC_PREFIXES),)


def term_regex(pattern: TermPattern) -> re.Pattern[str]:
    """The stand-alone regex equivalent to ``pattern``; group ``t`` is the matched term.

    The term's first word leads, literally, so that the regex engine can look
    for it quickly (a regex that opens with a lookbehind is tried at every
    position); the left boundary and the attached prefixes are checked behind
    it, one fixed-width lookbehind per allowed prefix.
    """
    body = body_regex(pattern.norm)
    if not pattern.left_check:
        return re.compile("(?P<t>" + body + ")")
    first = pattern.norm.split(" ")[0].rstrip("*")
    literal, width = re.escape(first), len(first)
    behind = []
    for prefix in sorted(pattern.prefixes, key=lambda p: (len(p), p)):
        if prefix:
            behind.append(rf"(?<=(?<!\w){re.escape(prefix)}.{{{width}}})")
        else:
            behind.append(rf"(?<!\w.{{{width}}})")
    check = behind[0] if len(behind) == 1 else "(?:" + "|".join(behind) + ")"
    return re.compile("(?s)(?P<t>" + literal + check + body[len(literal) :] + ")")
