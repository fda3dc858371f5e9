"""The ``tensionwatch`` command: wires settings to the parts, prints, exits.

Every error of ours becomes one line on stderr (``tensionwatch: error: …``)
and a non-zero exit; usage errors are click's (exit 2). ``--config FILE``
is accepted before or after the subcommand. Read-only commands open the
database read-only.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from model import TensionwatchError
from tensionwatch import __version__
from tensionwatch.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])
EXPORT_FIELDS = [
    "id", "feed", "feed_name", "feed_country", "url", "guid", "title", "summary", "published",
    "fetched", "lang", "flags", "archive", "actors", "categories", "escalation", "rules_version",
]  # fmt: skip


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_root().meta["tensionwatch.config"] = value


def config_option(f: F) -> F:
    """``--config FILE`` on the group and on every subcommand (before or after it)."""
    return click.option(
        "--config", "config_path", metavar="FILE", expose_value=False, is_eager=True,
        callback=_remember_config,
        help="TOML configuration file (else TENSIONWATCH_CONFIG, else ./tensionwatch.toml).",
    )(f)  # fmt: skip


def settings_of(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    if "tensionwatch.settings" not in root.meta:
        root.meta["tensionwatch.settings"] = load_settings(root.meta.get("tensionwatch.config"))
    settings: Settings = root.meta["tensionwatch.settings"]
    return settings


def parse_since(value: str | None) -> datetime | None:
    """``--since`` as an ISO date or date-time; naive values are UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use YYYY-MM-DD or an ISO 8601 date-time",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Group(click.Group):
    """Turns our own errors into one clean line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TensionwatchError as e:
            click.echo(f"tensionwatch: error: {e}", err=True)
            ctx.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.version_option(__version__, prog_name="tensionwatch")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def cli(verbose: bool) -> None:
    """Watch the news for rising and falling tension over Western Sahara."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # their per-request and per-job lines drown ours; warnings still show
    for noisy in ("aiohttp", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@cli.command()
@config_option
@click.pass_context
def up(ctx: click.Context) -> None:
    """Run the collector and the dashboard until Ctrl-C or SIGTERM."""
    from tensionwatch.runner import run_up

    logging.getLogger().setLevel(logging.INFO)
    ctx.exit(run_up(settings_of(ctx)))


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Poll every enabled feed once, print a summary, exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the summary as JSON.")
@click.pass_context
def collect(ctx: click.Context, once: bool, as_json: bool) -> None:
    """Collect feeds: once, or on their schedules until stopped."""
    settings = settings_of(ctx)
    if not once:
        from tensionwatch.runner import run_collector

        logging.getLogger().setLevel(logging.INFO)
        ctx.exit(run_collector(settings))
    from tensionwatch.service import CollectorService
    from tensionwatch.summary import format_summary, summary_json

    service = CollectorService(settings)
    try:
        outcomes = service.collect_once()
    finally:
        service.close()
    names = {f.url: f.name for f in settings.feeds}
    if as_json:
        click.echo(json.dumps(summary_json(outcomes, names), ensure_ascii=False, indent=2))
    else:
        click.echo(format_summary(outcomes, names))


@cli.command()
@config_option
@click.pass_context
def dashboard(ctx: click.Context) -> None:
    """Serve the dashboard alone (it only reads the database)."""
    from tensionwatch.runner import exec_dashboard

    exec_dashboard(settings_of(ctx))


@cli.command()
@config_option
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rules file to use instead of the configured one.",
)
@click.pass_context
def tag(ctx: click.Context, rules_path: str | None) -> None:
    """Tag JSON Lines from stdin ({"id","title","summary","lang"}) to stdout."""
    from tagging import Tagger, load_rules, tag_jsonl_stream

    path = Path(rules_path) if rules_path else settings_of(ctx).rules
    tagger = Tagger(load_rules(path))
    # UTF-8 whatever the locale; a byte that is not UTF-8 becomes U+FFFD, not a crash
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    bad = tag_jsonl_stream(tagger, stdin, stdout, sys.stderr)
    stdout.flush()
    ctx.exit(1 if bad else 0)


@cli.command()
@config_option
@click.option("--since", help="Only items published on or after this date (YYYY-MM-DD).")
@click.pass_context
def retag(ctx: click.Context, since: str | None) -> None:
    """Re-apply the current rules to stored items."""
    from tensionwatch.retag import retag_items

    settings = settings_of(ctx)
    count, version = retag_items(settings, parse_since(since))
    click.echo(f"retagged {count} items with rules version {version}")


@cli.group()
def feeds() -> None:
    """Feed health and state."""


@feeds.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed, as a list.")
@click.pass_context
def feeds_list(ctx: click.Context, as_json: bool) -> None:
    """Every feed with its status, last success, last error and item count."""
    from tensionwatch.feedstatus import feed_rows

    rows = feed_rows(settings_of(ctx))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        detail = row["last_error"] or row["last_warning"] or ""
        click.echo(
            f"{row['status']:<9} {row['items']:>6}  {row['name'] or row['url']}"
            + (f"  — {detail}" if detail else "")
        )


@feeds.command("enable")
@config_option
@click.argument("url")
@click.pass_context
def feeds_enable(ctx: click.Context, url: str) -> None:
    """Re-enable a feed the collector disabled (e.g. after 410 Gone)."""
    from storage.db import open_database
    from storage.feeds import enable_feed

    db = open_database(settings_of(ctx).database)
    if not enable_feed(db, url):
        raise click.BadParameter(f"no stored feed has the URL {url!r}", param_hint="URL")
    click.echo(f"enabled {url}")


@feeds.command("import")
@config_option
@click.argument("opml", metavar="FILE.opml", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--to",
    "target",
    metavar="FILE.toml",
    type=click.Path(dir_okay=False),
    help="Append the [[feeds]] tables to this TOML file (e.g. your config) instead of printing.",
)
@click.pass_context
def feeds_import(ctx: click.Context, opml: str, target: str | None) -> None:
    """Turn an OPML feed list into [[feeds]] tables (country and language kept).

    Feeds already in the configuration, or in the --to file, are left out.
    """
    import tomllib
    from pathlib import Path

    from tensionwatch.feedlist import feeds_to_toml, load_opml

    imported = load_opml(Path(opml))
    known = {spec.url for spec in settings_of(ctx).feeds}
    if target and Path(target).is_file():
        try:
            tables = tomllib.loads(Path(target).read_text(encoding="utf-8")).get("feeds", [])
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise click.ClickException(f"{target}: cannot read it as TOML: {e}") from e
        known |= {str(t.get("url")) for t in tables if isinstance(t, dict)}
    fresh = [spec for spec in imported if spec.url not in known]
    skipped = len(imported) - len(fresh)
    text = feeds_to_toml(fresh)
    if target:
        with Path(target).open("a", encoding="utf-8") as f:
            f.write(("\n" + text) if text else "")
        click.echo(f"appended {len(fresh)} feeds to {target}", err=True)
    else:
        click.echo(text, nl=False)
    if skipped:
        click.echo(f"left out {skipped} feeds already configured", err=True)


@feeds.command("export")
@config_option
@click.pass_context
def feeds_export(ctx: click.Context) -> None:
    """Print the configured feeds (not the bundled archive) as OPML 2.0."""
    from tensionwatch.feedlist import feeds_to_opml

    specs = [spec for spec in settings_of(ctx).feeds if not spec.archive]
    click.echo(feeds_to_opml(specs), nl=False)


@cli.group()
def export() -> None:
    """Export stored data."""


@export.command("items")
@config_option
@click.option("--since", help="Only items published on or after this date (YYYY-MM-DD).")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.pass_context
def export_items(ctx: click.Context, since: str | None, fmt: str) -> None:
    """Write every stored item to stdout, one per line (read-only)."""
    from storage.db import open_database_readonly
    from storage.items import iter_items_for_export

    moment = parse_since(since)
    db = open_database_readonly(settings_of(ctx).database)
    rows = iter_items_for_export(db, moment)
    out = sys.stdout
    if fmt == "jsonl":
        for row in rows:
            row["actors"] = json.loads(row["actors"])
            row["categories"] = json.loads(row["categories"])
            row["archive"] = bool(row["archive"])
            row["flags"] = [f for f in row["flags"].split(",") if f]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row["actors"] = " ".join(json.loads(row["actors"]))
        row["categories"] = " ".join(json.loads(row["categories"]))
        writer.writerow(row)


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("check")
@config_option
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the configuration and the rules file without starting anything."""
    from tagging import load_rules

    settings = settings_of(ctx)
    rules = load_rules(settings.rules)
    source = settings.config_path or "no config file (seeded defaults)"
    click.echo(f"config: {source}")
    click.echo(f"database: {settings.database}")
    click.echo(f"rules: {settings.rules} (version {rules.version}, {rules.rule_count} rules)")
    enabled = len(settings.enabled_feeds)
    archive = sum(1 for f in settings.feeds if f.archive)
    click.echo(f"feeds: {len(settings.feeds)} ({enabled} enabled, {archive} archive files)")
    click.echo("ok")


@cli.group()
def rules() -> None:
    """The rules file."""


@rules.command("check")
@config_option
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def rules_check(ctx: click.Context, file: str | None) -> None:
    """List every problem of a rules file (default: the configured one)."""
    from tagging import load_rules

    path = Path(file) if file else settings_of(ctx).rules
    loaded = load_rules(path)
    click.echo(f"{path}: ok, {loaded.rule_count} rules, version {loaded.version}")


@cli.group()
def db() -> None:
    """The database."""


@db.command("migrate")
@config_option
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Create the database or bring its schema up to date."""
    from storage.db import open_database
    from storage.schema import SCHEMA_VERSION

    settings = settings_of(ctx)
    open_database(settings.database).conn.close()
    click.echo(f"{settings.database}: schema version {SCHEMA_VERSION}")


@db.command("backup")
@config_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def db_backup(ctx: click.Context, file: str) -> None:
    """Copy the database consistently to FILE, even while the collector writes."""
    from storage.backup import backup_database

    backup_database(settings_of(ctx).database, Path(file))
    click.echo(f"backed up to {file}")


from tensionwatch.cli_alerts import alerts  # noqa: E402  (it imports the helpers above)

cli.add_command(alerts)


def main() -> None:
    cli(prog_name="tensionwatch")
