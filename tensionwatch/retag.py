"""Re-applying the current rules to stored items, in batches, idempotently.

Each batch is its own short transaction, so the collector's writes
interleave instead of waiting for the whole run.
"""

from __future__ import annotations

from datetime import datetime

from tqdm import tqdm

from storage.db import open_database, transaction
from storage.items import item_ids, item_texts, record_rules_version, write_tags
from tagging import Tagger, load_rules
from tensionwatch.config import Settings

BATCH = 500


def retag_items(
    settings: Settings,
    since: datetime | None,
    *,
    now: datetime | None = None,
    progress: bool = True,
) -> tuple[int, str]:
    """Retag every stored item published on or after ``since``; (count, rules version)."""
    rules = load_rules(settings.rules)
    tagger = Tagger(rules)
    db = open_database(settings.database)
    try:
        record_rules_version(
            db,
            rules.version,
            str(rules.path),
            rules.rule_count,
            rules.source,
            now or datetime.now().astimezone(),
        )
        ids = item_ids(db, since)
        with tqdm(total=len(ids), unit="item", disable=not progress) as bar:
            for start in range(0, len(ids), BATCH):
                texts = item_texts(db, ids[start : start + BATCH])
                tagged = [
                    (i, tagger.tag(title, summary, lang)) for i, title, summary, lang in texts
                ]
                with transaction(db):
                    for item_id, tagging in tagged:
                        write_tags(db, item_id, tagging)
                bar.update(len(texts))
    finally:
        db.conn.close()
    return len(ids), rules.version
