"""Stories: the same wire story republished by several outlets, clustered into one.

An item joins a story when it was published within ``STORY_WINDOW`` of
the story's first item (so stories never chain on for days) and its text are near-duplicates: the
Jaccard similarity of their word shingles (title plus the first
``LEAD_WORDS`` words of the summary, case- and accent-folded, word pairs)
with one of the story's items is at least ``THRESHOLD``. Finding candidates uses MinHash LSH
(datasketch) so the cost per new item does not grow with the database; the
MinHash estimate of the Jaccard similarity then decides.

Why these numbers: outlets republishing a wire story rewrite a headline
word or two and cut or extend the lead, which keeps well over half the
word pairs; two different events about the same dyad ("Algeria accuses
Morocco…" on consecutive days) share far fewer once the lead is included.
A day covers a story's republication cycle across time zones without
merging a recurring daily statement ("Israeli strike in Gaza, <date>") into
one story.

An item joins the story of its most similar earlier-clustered neighbour;
with none it starts its own story (whose id is the item's id).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]

STORY_WINDOW = timedelta(days=1)
THRESHOLD = 0.5
LEAD_WORDS = 40
NUM_PERM = 64
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class StoryCandidate:
    id: str
    published: datetime
    title: str
    summary: str


def shingles(title: str, summary: str) -> set[str]:
    """Folded word pairs of the title and lead (single words when the text is one word)."""
    text = f"{title} {summary}".casefold()
    if not text.isascii():  # fold accents: "algérie" and "algerie" are one word
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = _WORD.findall(text)[: len(_WORD.findall(title)) + LEAD_WORDS]
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in pairwise(words)}


_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=7)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme  # drawn once, shared
_LAYOUT = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
_LSH_PARAMS = (_LAYOUT.b, _LAYOUT.r)  # the band layout is found by integration: once only


def minhash_of(candidate: StoryCandidate) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, seed=7, permutations=_PERMUTATIONS, scheme=_SCHEME)
    signature.update_batch([s.encode() for s in shingles(candidate.title, candidate.summary)])
    return signature


def cluster_stories(
    pending: Sequence[StoryCandidate], known: Sequence[tuple[StoryCandidate, str]]
) -> dict[str, str]:
    """Story id for each pending item (in published order), given already-clustered
    ``known`` items and their story ids."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=_LSH_PARAMS)
    info: dict[str, tuple[MinHash, str]] = {}
    story_start: dict[str, datetime] = {}
    for candidate, story in known:
        signature = minhash_of(candidate)
        info[candidate.id] = (signature, story)
        story_start[story] = min(story_start.get(story, candidate.published), candidate.published)
        lsh.insert(candidate.id, signature)
    assigned: dict[str, str] = {}
    for candidate in sorted(pending, key=lambda c: (c.published, c.id)):
        if candidate.id in info:
            continue
        signature = minhash_of(candidate)
        best: tuple[float, str] | None = None
        for other in lsh.query(signature):
            other_signature, story = info[other]
            if abs(story_start[story] - candidate.published) > STORY_WINDOW:
                continue
            similarity = signature.jaccard(other_signature)
            if similarity >= THRESHOLD and (best is None or similarity > best[0]):
                best = (similarity, story)
        story = best[1] if best else candidate.id
        assigned[candidate.id] = story
        info[candidate.id] = (signature, story)
        story_start.setdefault(story, candidate.published)
        lsh.insert(candidate.id, signature)
    return assigned
