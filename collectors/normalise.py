"""Normalising parsed entries into ``NormalisedItem``: what gets tagged and stored.

Per entry, in this order:

1. title and summary become plain text (``to_plain_text``); a summary
   longer than ``SUMMARY_MAX_CHARS`` (a title longer than
   ``TITLE_MAX_CHARS``) is cut at a word and ends with "…";
2. the link is resolved against the feed URL and made canonical
   (``collectors.identity.canonical_url``): http(s) only, else ``None``;
3. the published time becomes UTC; when the feed gave none it is the fetch
   time flagged ``date_missing``; when it gave one that could not be read,
   the fetch time flagged ``date_unparseable``; when it is more than
   ``FUTURE_TOLERANCE`` ahead of the fetch, the fetch time flagged
   ``date_future``;
4. the id comes from ``collectors.identity.item_id`` (canonical URL, else
   feed URL + guid, else feed URL + title + the date as the feed gave it);
   a later entry with an id already seen in the same body is dropped;
5. the language is the entry's, else the feed's, else ``default_lang``, as
   a lower-case two-letter code ("en-US" → "en"), or "" when none fits.

``to_plain_text`` contract: the result holds no markup that was markup in
the input (tags stripped by nh3; the contents of script, style, iframe,
object, svg... dropped), entities decoded, no NUL/C0/C1 control characters
or ANSI escape sequences, whitespace collapsed to single spaces. Decoding
entities can yield text that looks like markup ("&lt;script&gt;"): such
text is stripped again (at most ``MAX_ROUNDS`` times), so even double-escaped
markup does not survive; a lone "<" as in "a < b" stays. The result is
plain text: whoever displays it must still escape it.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import nh3

from collectors.identity import canonical_url, item_id
from model import NormalisedItem, ParsedEntry, ParsedFeed

SUMMARY_MAX_CHARS = 5000
TITLE_MAX_CHARS = 1000
FUTURE_TOLERANCE = timedelta(minutes=10)
MAX_ROUNDS = 3

# Elements whose content is code or widgets, never text a reader sees.
DROP_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "noscript",
        "noembed",
        "noframes",
        "template",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "textarea",
        "select",
        "form",
        "button",
        "xmp",
    }
)
# Kept through nh3 (bare, no attributes) only to become spaces: words in
# "<p>one</p><p>two</p>" must not run together.
BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"}
    | {"figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"}
    | {"li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
# Built once: options given to every nh3.clean call cost a conversion each time.
_CLEANER = nh3.Cleaner(
    tags=set(BLOCK_TAGS),
    clean_content_tags=set(DROP_CONTENT),
    attributes={},
    strip_comments=True,
    link_rel=None,
)
_BARE_TAG = re.compile(r"<[^>]*>")
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!?]")
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ud800-\udfff\ufffe\uffff]")


def normalise_entries(
    feed_url: str, parsed: ParsedFeed, fetched: datetime, default_lang: str = ""
) -> list[NormalisedItem]:
    """The feed's entries as items, duplicates (same id) collapsed, first one kept."""
    fetched = _as_utc(fetched)
    feed_lang = _two_letter(parsed.lang) or _two_letter(default_lang)
    items: dict[str, NormalisedItem] = {}
    for entry in parsed.entries:
        item = _normalise(feed_url, entry, fetched, feed_lang)
        items.setdefault(item.id, item)
    return list(items.values())


def to_plain_text(text: str) -> str:
    """Plain text from an HTML fragment or text; see the module docstring."""
    text = _strip_controls(text)  # nh3 cannot take lone surrogates
    if "<" not in text and "&" not in text:
        # No tag and no entity: nh3 and unescaping would give the text back as it is
        # (tests/test_parse_normalise.py compares the two on such texts).
        return " ".join(text.split())
    return _markup_to_text(text)


def _markup_to_text(text: str) -> str:
    for _ in range(MAX_ROUNDS):
        cleaned = _CLEANER.clean(text)
        text = html.unescape(_BARE_TAG.sub(" ", cleaned))
        if not _LOOKS_LIKE_MARKUP.search(text):
            break
    return " ".join(_strip_controls(text).split())


def _strip_controls(text: str) -> str:
    # Every ANSI sequence starts with a character of _CONTROL: text without one has
    # neither (one scan, where the two substitutions scan twice and copy).
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub("", _ANSI.sub("", text))


def _normalise(
    feed_url: str, entry: ParsedEntry, fetched: datetime, feed_lang: str
) -> NormalisedItem:
    title = _cap(to_plain_text(entry.title), TITLE_MAX_CHARS)
    url = canonical_url(entry.link, base=feed_url)
    published, flags = _published(entry, fetched)
    return NormalisedItem(
        id=item_id(url, feed_url, entry.guid, title, entry.published),
        feed_url=feed_url,
        url=url,
        guid=entry.guid,
        title=title,
        summary=_cap(to_plain_text(entry.summary), SUMMARY_MAX_CHARS),
        published=published,
        fetched=fetched,
        lang=_two_letter(entry.lang) or feed_lang,
        flags=flags,
    )


def _published(entry: ParsedEntry, fetched: datetime) -> tuple[datetime, tuple[str, ...]]:
    if entry.published is None:
        return fetched, ("date_unparseable",) if entry.published_raw else ("date_missing",)
    published = _as_utc(entry.published)
    if published > fetched + FUTURE_TOLERANCE:
        return fetched, ("date_future",)
    return published, ()


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:  # cut at a word unless that loses too much
        cut = cut[:space]
    return cut.rstrip() + "…"


def _two_letter(lang: str) -> str:
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == 2 and code.isascii() and code.isalpha() else ""


def _as_utc(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
