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
from typing import NamedTuple

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


class NormalisedText(NamedTuple):
    """Folded text and, for each of its characters, the index it came from.

    A named tuple: two are built for every item tagged, and a tuple is built
    in a fifth of the time of a frozen dataclass.
    """

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


def _trivial_class() -> re.Pattern[str]:
    """A regex of the characters that the fold may change, once lower-cased.

    Its complement is the ASCII, Arabic and Hebrew characters that fold to
    themselves (checked here, not assumed), which make up most of any text.
    """
    ranges = [(0x20, 0x7F), (0x0590, 0x0600), (0x0600, 0x0700)]
    kept = [chr(c) for a, b in ranges for c in range(a, b) if _fold_char(chr(c), True) == chr(c)]
    return re.compile("[^" + "".join(re.escape(c) for c in kept) + "]")


_CHANGING = _trivial_class()
# for each character the fold changes: what it becomes, or None when that is
# itself a character the fold would change (then only ``translate`` is right)
_REPLACEMENT: dict[str, str | None] = {}


def _replacement(c: str) -> str | None:
    folded = _FOLD[ord(c)]
    out = None if _CHANGING.search(folded) else folded
    _REPLACEMENT[c] = out
    return out


def _fast_fold(text: str) -> tuple[str, bool] | None:
    """``text.translate(_FOLD)`` and whether some character folded to other than one.

    ``str.translate`` looks every character up in a Python mapping; this
    lower-cases in C, then replaces only the characters that still change,
    one ``str.replace`` per distinct character. Folding a lower-cased
    character gives what folding the original gives (tests check every code
    point). None when a character lower-cases to several (``İ``) or folds
    into one that would change again: ``translate`` then does the work.
    """
    lowered = text.lower()
    if len(lowered) != len(text):
        return None
    changing = _CHANGING.findall(lowered)
    if not changing:
        return lowered, False
    non_unit = False
    for c in set(changing):
        out = _REPLACEMENT[c] if c in _REPLACEMENT else _replacement(c)
        if out is None:
            return None
        if len(out) != 1:
            non_unit = True
        lowered = lowered.replace(c, out)
    return lowered, non_unit


def _ascii_table() -> dict[int, str]:
    """The fold of each ASCII character: exactly one ASCII character each."""
    table = {code: _FOLD[code] for code in range(0x80)}
    assert all(len(c) == 1 and c.isascii() for c in table.values())
    return table


# ``str.translate`` runs in C, without a Python lookup per character, when the
# text and the table's values are ASCII: half the items are ASCII only
_ASCII_FOLD = _ascii_table()


def _fold(text: str, table: _FoldTable) -> NormalisedText:
    fast: tuple[str, bool] | None = None
    if table is _FOLD:
        fast = (text.translate(_ASCII_FOLD), False) if text.isascii() else _fast_fold(text)
    if fast is None:
        folded = text.translate(table)
        # every ASCII character folds to exactly one character: no map needed
        non_unit = not text.isascii() and not table.non_unit.isdisjoint(text)
    else:
        folded, non_unit = fast
    origin: list[int] | None = None
    if non_unit:
        origin = _origin(text, table)
    if "  " in folded:
        folded, origin = _collapse_spaces(folded, origin)
    # tuple.__new__ skips the named tuple's own __new__ (a Python function): two per item
    return _tuple_new(
        NormalisedText, (folded, len(text), None if origin is None else tuple(origin))
    )


_tuple_new = tuple.__new__


def _origin(text: str, table: _FoldTable) -> list[int]:
    """For each character of ``text.translate(table)``, the index it came from.

    Most characters fold to exactly one: the map is runs of consecutive indexes
    between the few that do not, so only those are looked at one by one (each
    distinct character of the text is looked up once), not every character.
    """
    at_odd: list[int] = []
    for c in set(text):
        if len(table[ord(c)]) == 1:
            continue
        found = text.find(c)
        while found >= 0:
            at_odd.append(found)
            found = text.find(c, found + 1)
    origin: list[int] = []
    start = 0
    for i in sorted(at_odd):
        origin.extend(range(start, i))
        origin.extend([i] * len(table[ord(text[i])]))
        start = i + 1
    origin.extend(range(start, len(text)))
    return origin


def _collapse_spaces(folded: str, origin: list[int] | None) -> tuple[str, list[int]]:
    # a range slices into ranges: no list of every position when the fold kept them all
    positions: list[int] | range = origin if origin is not None else range(len(folded))
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


def sentence_ends(text: str) -> list[int]:
    """Where each sentence of ``text`` ends: the offsets where ``SENTENCE_END`` matches.

    Most texts end their sentences with ``.`` alone, which ``str.find``
    locates many times faster than the regex scans for its four marks (a
    one-character search is a ``memchr``); the regex does the rest (and line
    breaks, where ``$`` also matches).
    """
    if "!" in text or "?" in text or ";" in text or "\n" in text:
        return [m.start() for m in SENTENCE_END.finditer(text)]
    ends = []
    last = len(text) - 1
    at = text.find(".")
    while at >= 0:
        if at == last or text[at + 1] == " ":
            ends.append(at)
        at = text.find(".", at + 1)
    return ends


def is_word_char(c: str) -> bool:
    """True for what ``re`` calls ``\\w``: letters, digits and the underscore."""
    return c.isalnum() or c == "_"
