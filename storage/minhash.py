"""MinHash signatures of item texts, and their LSH band keys, for ``storage.stories``.

A text's shingles are the folded word pairs of its title and the first
``LEAD_WORDS`` words of its summary; its signature is ``NUM_PERM`` 32-bit
values, exactly those of datasketch's ``MinHash(num_perm=NUM_PERM,
seed=SEED)`` over the encoded shingles (computed here with numpy, many texts
at once; the tests check both agree); the share of equal values of two
signatures estimates the Jaccard similarity of their shingles. Its band keys
are ``BANDS`` 64-bit hashes of ``ROWS`` values each, the layout datasketch's
``MinHashLSH`` picks for a threshold of 0.5: two texts sharing a key are
candidates for being one story.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from itertools import pairwise

import numpy as np
import numpy.typing as npt

LEAD_WORDS = 40
NUM_PERM = 64
SEED = 7
BANDS, ROWS = 14, 4  # MinHashLSH(threshold=0.5, num_perm=64).b, .r (a test checks)
SIGNATURE_BYTES = NUM_PERM * 4
_WORD = re.compile(r"\w+")
_SIGN_BATCH = 64  # items whose shingles are permuted at once (64 values per shingle)

Signatures = npt.NDArray[np.uint32]
Keys = npt.NDArray[np.int64]


@cache
def _combining() -> npt.NDArray[np.bool_]:
    """Per code point: does ``unicodedata.combining`` call it combining (an accent)?
    Looked up with numpy, a text is folded four times faster than char by char."""
    table = np.zeros(0x110000, dtype=np.bool_)
    table[[c for c in range(0x110000) if unicodedata.combining(chr(c))]] = True
    return table


def shingles(title: str, summary: str) -> set[str]:
    """Folded word pairs of the title and lead (single words when the text is one word)."""
    text = f"{title} {summary}".casefold()
    if not text.isascii():  # fold accents: "algérie" and "algerie" are one word
        codes = np.frombuffer(
            unicodedata.normalize("NFKD", text).encode("utf-32-le", "surrogatepass"), "<u4"
        )
        text = codes[~_combining()[codes]].tobytes().decode("utf-32-le", "surrogatepass")
    words = _WORD.findall(text)[: len(_WORD.findall(title)) + LEAD_WORDS]
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in pairwise(words)}


def _permutations() -> tuple[Signatures, Signatures]:
    """datasketch's ``MinHash(num_perm=NUM_PERM, seed=SEED)`` permutations (scheme affine32)."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_A, _B = _permutations()


@lru_cache(maxsize=1 << 15)  # word pairs repeat ("of the"): a hit is 10 times cheaper
def _hash_shingle(shingle: str) -> bytes:
    """datasketch's ``sha1_hash32`` of the encoded shingle, as 4 little-endian bytes."""
    return hashlib.sha1(shingle.encode()).digest()[:4]


def _fmix32(h: Signatures) -> Signatures:
    """MurmurHash3's finalizer, which datasketch applies to each shingle's hash first."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def sign_texts(texts: Sequence[tuple[str, str]]) -> Signatures:
    """The MinHash signature of each (title, summary), one row of ``NUM_PERM`` values each:
    the same values as datasketch's ``MinHash.update_batch`` of the encoded shingles."""
    out = np.full((len(texts), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    for first in range(0, len(texts), _SIGN_BATCH):
        digests: list[bytes] = []
        rows: list[int] = []
        starts: list[int] = []
        for row, (title, summary) in enumerate(texts[first : first + _SIGN_BATCH], first):
            grams = shingles(title, summary)
            if grams:  # an empty text keeps the initial values, as in datasketch
                rows.append(row)
                starts.append(len(digests))
                digests += map(_hash_shingle, grams)
        if rows:
            hashed = _fmix32(np.frombuffer(b"".join(digests), dtype="<u4").astype(np.uint32))
            permuted = hashed[:, None] * _A + _B
            out[rows] = np.minimum.reduceat(permuted, starts, axis=0)
    return out


_KEY_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], np.uint64)


def band_keys(signatures: Signatures) -> Keys:
    """Each signature's ``BANDS`` band keys: a 64-bit hash of (band number, its values);
    equal bands give equal keys (and different ones almost never do)."""
    bands = signatures[:, : BANDS * ROWS].reshape(-1, BANDS, ROWS).astype(np.uint64)
    high = (bands[:, :, 0] << np.uint64(32)) | bands[:, :, 1]
    low = (bands[:, :, 2] << np.uint64(32)) | bands[:, :, 3]
    number = np.arange(BANDS, dtype=np.uint64)
    mixed = high * _KEY_MIX[0] + low * _KEY_MIX[1] + number * _KEY_MIX[2]
    mixed ^= mixed >> np.uint64(29)
    keys: Keys = mixed.view(np.int64)
    return keys
