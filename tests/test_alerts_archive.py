"""The seeded alert rules replayed over the bundled archive, collected the normal way.

The archive goes through ``CollectorService`` (with one loopback feed, as a
real config would have), then ``alerts backtest`` replays the seeded
morocco-algeria spike rule: it must fire when Algeria cut ties (late August
2021) and after the lorry drivers were killed (early November 2021), and
stay silent through quiet stretches.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from alerts.backtest import backtest_rule
from alerts.evaluate import load_alert_rules
from alerts.rules import find_rule, parse_rules
from storage.aggregates import refresh_aggregates
from storage.db import open_database, open_database_readonly
from tensionwatch.cli import cli
from tensionwatch.config import load_settings
from tensionwatch.service import CollectorService
from tests.conftest import WriteConfig
from tests.feedserver import FeedServer
from tests.feedtexts import HARVEST, rss

# Where the seeded morocco-algeria spike rule fires over the archive (docs/alerts.md):
# Algeria recalls its ambassador over the Kabylie remark, cuts ties, the lorry drivers
# killed, Spain backs the autonomy plan, France backs it, Algeria's new ambassador row.
SEEDED_SPIKE_DAYS = (
    "2021-07-18", "2021-08-24", "2021-11-03", "2022-03-19", "2024-07-30", "2024-09-26",
)  # fmt: skip


def test_seeded_spike_rule_fires_on_the_archive_episodes_only(
    feed_server: FeedServer, write_config: WriteConfig
) -> None:
    live = feed_server.route("/live.xml", body=rss([HARVEST]))
    config = write_config(
        'database = "tw.db"\narchive = true\nallow_private_networks = true\n'
        f'[[feeds]]\nurl = "{live}"\nname = "Loopback"\n'
    )
    settings = load_settings(config)
    service = CollectorService(settings)
    try:
        outcomes = service.collect_once()
    finally:
        service.close()
    assert all(o.status == "ok" for o in outcomes), outcomes

    rule = find_rule(load_alert_rules(settings), "morocco-algeria-spike")
    db = open_database_readonly(settings.database)
    try:
        days = [d.day for d in backtest_rule(db, rule, date(2020, 1, 1), date(2025, 12, 31))]
    finally:
        db.conn.close()
    assert days == [date.fromisoformat(d) for d in SEEDED_SPIKE_DAYS], days
    assert any(date(2021, 8, 20) <= d <= date(2021, 8, 31) for d in days), days
    assert any(date(2021, 11, 1) <= d <= date(2021, 11, 10) for d in days), days
    for quiet_year in (2020, 2023, 2025):
        assert not [d for d in days if d.year == quiet_year], days
    assert not [d for d in days if date(2021, 9, 1) <= d <= date(2021, 10, 31)], days

    # the same episodes counted in stories (a wire story carried by many outlets once),
    # per 100 stories collected each day
    stories = parse_rules(
        [{"name": "s", "kind": "spike", "dyad": "morocco-algeria", "unit": "story",
          "normalised": True, "cooldown": "3d"}],
        "t",
    )[0]  # fmt: skip
    db = open_database(settings.database)
    try:
        refresh_aggregates(db)
        story_days = [
            d.day for d in backtest_rule(db, stories, date(2021, 8, 1), date(2021, 11, 30))
        ]
    finally:
        db.conn.close()
    assert date(2021, 8, 24) in story_days and date(2021, 11, 3) in story_days, story_days

    shown = CliRunner().invoke(
        cli,
        ["alerts", "backtest", "morocco-algeria-spike", "--from", "2021-08-01",
         "--to", "2021-11-30", "--config", str(config)],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("2021-08-2") and lines[1].startswith("2021-11-0")
    assert lines[-1] == "morocco-algeria-spike: 2 days from 2021-08-01 to 2021-11-30"

    preview = CliRunner().invoke(
        cli, ["alerts", "preview", "morocco-algeria-spike", "--config", str(config)]
    )
    assert preview.exit_code == 0, preview.output
    assert "latest firing" in preview.output
    assert "Morocco–Algeria escalation" in preview.output
    written = preview.output.rsplit("written to ", 1)[1].strip()
    assert written.endswith(".eml") and "image/png" in Path(written).read_text("ascii")
