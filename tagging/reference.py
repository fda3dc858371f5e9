"""The naive matcher: one regular expression per term, scanned one after another.

It finds exactly what ``Matcher`` finds (same slots, same spans) and exists
to prove it: the tests compare the two on every case, and ``bench/tagging.py``
compares their speed. It is never used to tag items.
"""

from __future__ import annotations

import re

from tagging.matcher import Hit, Slot, iter_patterns
from tagging.ruleset import RuleSet
from tagging.terms import term_regex


class RegexMatcher:
    """``find_hits`` with one compiled regex per term pattern."""

    def __init__(self, rules: RuleSet) -> None:
        self._patterns: list[tuple[Slot, re.Pattern[str]]] = [
            (slot, term_regex(pattern)) for slot, pattern in iter_patterns(rules)
        ]

    def find_hits(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        for slot, regex in self._patterns:
            for found in regex.finditer(text):
                hits.append(Hit(found.start("t"), found.end("t"), slot))
        return hits
