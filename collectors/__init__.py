"""Collecting feeds: fetch → parse → normalise, then de-duplicate and schedule.

- ``collectors.fetch``: one bounded conditional GET (or a local file read)
  into a ``FetchResult``; every failure is a ``FetchError``.
- ``collectors.netguard``: the private-address policy every HTTP hop obeys.
- ``collectors.parse``: feedparser on the fetched bytes into a
  ``ParsedFeed``; a body that is not a feed is a ``ParseError``, a feed that
  had to be repaired carries a ``warning``.
- ``collectors.normalise``: entries into ``NormalisedItem`` (plain text,
  UTC times with flags, canonical links, stable ids, duplicates collapsed).
- ``collectors.identity``: canonical URLs and item ids.

``collectors.pipeline`` tells the per-feed refresh story with these parts.
"""
