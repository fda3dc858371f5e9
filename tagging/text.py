"""Text normalisation for matching, with a map back to the original offsets.

``normalise_text(s)`` folds ``s`` so that spelling variants compare equal,
and remembers, for every character of the result, which character of ``s``
it came from. Rules terms go through the same function, so a term and the
text it should match always meet in the same form.

What the fold does, character by character:

- Unicode compatibility decomposition (NFKD: ligatures, full-width forms,
  Arabic presentation forms) and case folding (``ß`` -> ``ss``);
- combining marks and format characters are dropped: Latin accents
  (``Algérie`` = ``Algerie``), Arabic tashkeel, Hebrew niqqud, zero-width
  joiners, soft hyphens; the Arabic tatweel is dropped too;
- Arabic letters are unified: alef forms (أ إ آ ٱ) -> ا, ta marbuta ة -> ه,
  alef maqsura ى -> ي, Persian yeh and kaf -> ي and ك; hamza carriers fold
  with their base letter (ؤ -> و, ئ -> ي) because the hamza is a mark;
- every apostrophe-like character becomes ``'`` (so elisions such as
  ``l’Algérie`` split into ``l`` + ``'`` + ``algerie``); every hyphen or
  dash, double quotation mark (“ ” « » ") and whitespace character becomes a
  space, and runs of spaces collapse to one (so ``Tel-Aviv`` = ``Tel Aviv``,
  and phrases match across line breaks and quotation marks);
- other decimal digits become ASCII digits.

A *word character* is what Python's ``re`` calls ``\\w`` (letters, digits,
underscore); ``'`` is not one, which is what makes elided articles and
possessives (``d'Israël``, ``Morocco's``) word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_APOSTROPHES = "'’‘ʼʻ`´′ʹ"
_DASHES = "-‐‑‒–—―−"
_QUOTES = '"“”„‟«»‹›〝〞＂'
_SPECIAL: dict[str, str] = {
    **{c: "'" for c in _APOSTROPHES},
    **{c: " " for c in _DASHES + _QUOTES},
    "ـ": "",  # tatweel
    "ٱ": "ا",  # alef wasla
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",
    "ک": "ك",
    "œ": "oe",
    "æ": "ae",
    "ø": "o",
    "đ": "d",
    "ł": "l",
    "ı": "i",
}
_SPACES = re.compile(" {2,}")
WORD = re.compile(r"\w\w+")  # the words that count in distances: two characters or more
SENTENCE_END = re.compile(r"[.!?;](?= |$)")


def _fold_char(c: str, casefold: bool) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if c.isspace():
        return " "
    if c.isdecimal() and not c.isascii():
        return str(unicodedata.decimal(c))
    out = []
    folded = c.casefold() if casefold else c
    for x in unicodedata.normalize("NFKD", folded):
        if unicodedata.category(x) in _DROPPED_CATEGORIES:
            continue
        x = _SPECIAL.get(x, x)
        if x and x.isspace():
            x = " "
        out.append(x.casefold() if casefold else x)
    return "".join(out)


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character."""

    def __init__(self, casefold: bool) -> None:
        super().__init__()
        self.casefold = casefold
        self.non_unit: set[str] = set()  # characters that do not fold to exactly one

    def __missing__(self, code: int) -> str:
        c = chr(code)
        folded = _fold_char(c, self.casefold)
        if len(folded) != 1:
            self.non_unit.add(c)
        self[code] = folded
        return folded


_FOLD = _FoldTable(casefold=True)
_FOLD_KEEP_CASE = _FoldTable(casefold=False)


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Folded text and, for each of its characters, the index it came from."""

    text: str
    source_length: int
    origin: tuple[int, ...] | None  # None when the fold kept every position

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` back to ``(start, end)`` in the original text.

        The end stretches over characters the fold dropped right after the
        span (an accent, tashkeel, a tatweel), so the original slice holds the
        whole matched letters.
        """
        if self.origin is None:
            return start, end
        first = self.origin[start]
        last = self.origin[end - 1] + 1
        following = self.origin[end] if end < len(self.origin) else self.source_length
        return first, max(last, following)


def _fold(text: str, table: _FoldTable) -> NormalisedText:
    folded = text.translate(table)
    origin: list[int] | None = None
    # every ASCII character folds to exactly one character: no map needed
    if not text.isascii() and not table.non_unit.isdisjoint(text):
        origin = []
        for i, c in enumerate(text):
            origin.extend([i] * len(table[ord(c)]))
    if "  " in folded:
        folded, origin = _collapse_spaces(folded, origin)
    return NormalisedText(folded, len(text), None if origin is None else tuple(origin))


def _collapse_spaces(folded: str, origin: list[int] | None) -> tuple[str, list[int]]:
    positions = origin if origin is not None else list(range(len(folded)))
    parts: list[str] = []
    kept: list[int] = []
    at = 0
    for run in _SPACES.finditer(folded):
        cut = run.start() + 1  # keep the first space of the run
        parts.append(folded[at:cut])
        kept.extend(positions[at:cut])
        at = run.end()
    parts.append(folded[at:])
    kept.extend(positions[at:])
    return "".join(parts), kept


def normalise_text(text: str) -> NormalisedText:
    """Fold ``text`` for matching (see the module docstring) and keep the offset map."""
    return _fold(text, _FOLD)


def normalise(text: str) -> str:
    """The folded form of ``text`` alone."""
    return _fold(text, _FOLD).text


def normalise_keep_case(text: str) -> str:
    """Like ``normalise`` but without case folding, for case-sensitive terms."""
    return _fold(text, _FOLD_KEEP_CASE).text


def is_word_char(c: str) -> bool:
    """True for what ``re`` calls ``\\w``: letters, digits and the underscore."""
    return c.isalnum() or c == "_"
