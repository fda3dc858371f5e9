"""Feed and pasted text as literal markdown, for ``st.markdown`` and friends.

CommonMark lets a backslash escape any ASCII punctuation: escaping all of it
turns markup, links, images, HTML and Streamlit's $LaTeX$ into plain text.
Only our own highlight markup is added after escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def escape_markdown(text: str) -> str:
    """``text`` as literal characters in ``st.markdown`` and friends (one line)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def highlight(text: str, spans: Sequence[tuple[int, int]], colour: str = "orange") -> str:
    """``text`` as escaped markdown with the characters of ``spans`` highlighted.

    Every piece is escaped on its own (so feed text stays text), then the
    matched pieces are wrapped in Streamlit's ``:<colour>-background[...]``.
    Overlapping spans merge; spans outside the text are ignored.
    """
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(_escape_keep_spaces(text[at:start]))
        out.append(f":{colour}-background[**{_escape_keep_spaces(text[start:end])}**]")
        at = end
    out.append(_escape_keep_spaces(text[at:]))
    return "".join(out)


def _escape_keep_spaces(text: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))
