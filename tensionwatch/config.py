"""The one frozen settings object, built once at the entry point.

Every setting is declared once in ``OPTIONS`` (TOML key, environment
variable, default, parser, help); ``docs/configuration.md`` is checked
against it by a test. Sources, highest first: the environment
(``TENSIONWATCH_*``), the TOML file (``--config``, ``TENSIONWATCH_CONFIG``,
or ``./tensionwatch.toml`` when present), the defaults. Secrets (the SMTP
password) come only from the environment. Relative paths in the file are
relative to the file; relative paths from the environment or the defaults
are relative to the working directory.

Any invalid value raises ``ConfigError`` naming the file (or environment
variable), the key, the bad value and what is expected.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model import ConfigError, FeedSpec, FetchPolicy
from tensionwatch import __version__, paths
from tensionwatch.feedlist import load_feed_tables, load_opml
from tensionwatch.values import (
    Invalid,
    choice,
    duration_range,
    int_range,
    parse_address,
    parse_bool,
    parse_size,
    parse_str,
)

ENV_CONFIG = "TENSIONWATCH_CONFIG"
DEFAULT_CONFIG_NAME = "tensionwatch.toml"
ENVIRONMENT = "environment"


@dataclass(frozen=True)
class Option:
    """One setting: where it is read from, its default and how it is checked."""

    key: str  # dotted TOML key, e.g. "smtp.port"
    env: str | None
    default: Any
    parse: Callable[[object], Any]
    help: str
    is_path: bool = False
    secret: bool = False  # environment only; refused in the file


OPTIONS: tuple[Option, ...] = (
    Option(
        "database",
        "TENSIONWATCH_DATABASE",
        "data/tensionwatch.db",
        parse_str,
        "SQLite database file (created on first start).",
        is_path=True,
    ),
    Option(
        "rules",
        "TENSIONWATCH_RULES",
        None,
        parse_str,
        "Rules file (YAML). Default: the seeded seeds/rules.yaml.",
        is_path=True,
    ),
    Option(
        "feeds_opml",
        None,
        None,
        parse_str,
        "An OPML file holding the feed list, instead of [[feeds]] tables.",
        is_path=True,
    ),
    Option(
        "archive",
        "TENSIONWATCH_ARCHIVE",
        True,
        parse_bool,
        "Also collect the bundled offline archive (seeds/archive).",
    ),
    Option(
        "allow_private_networks",
        "TENSIONWATCH_ALLOW_PRIVATE_NETWORKS",
        False,
        parse_bool,
        "Allow feeds and redirects to loopback, private and link-local addresses.",
    ),
    Option(
        "collector.interval",
        "TENSIONWATCH_INTERVAL",
        900.0,
        duration_range(60, 7 * 86400),
        'Default polling interval per feed (seconds, or "15m", "2h").',
    ),
    Option(
        "collector.jitter",
        None,
        60.0,
        duration_range(0, 3600),
        "Random delay added to each feed's schedule so feeds are not polled in step.",
    ),
    Option(
        "collector.max_backoff",
        None,
        6 * 3600.0,
        duration_range(60, 7 * 86400),
        "Longest wait between retries of a failing feed (back-off doubles up to it).",
    ),
    Option(
        "collector.workers",
        None,
        8,
        int_range(1, 64),
        "Feeds fetched at once in a pass (threads; database writes stay one at a time).",
    ),
    Option(
        "collector.per_host",
        None,
        2,
        int_range(1, 16),
        "Most feeds fetched at once from one host.",
    ),
    Option(
        "collector.connect_timeout",
        None,
        10.0,
        duration_range(0.1, 300),
        "Seconds to wait for a connection.",
    ),
    Option(
        "collector.read_timeout",
        None,
        20.0,
        duration_range(0.1, 600),
        "Seconds to wait between two reads of a response.",
    ),
    Option(
        "collector.total_timeout",
        None,
        60.0,
        duration_range(0.5, 3600),
        "Seconds a whole fetch (headers and body) may take.",
    ),
    Option(
        "collector.max_bytes",
        None,
        10 * 1024**2,
        parse_size,
        "Largest feed body accepted, counted after decompression.",
    ),
    Option(
        "collector.max_redirects",
        None,
        5,
        int_range(0, 20),
        "Most redirects followed for one fetch.",
    ),
    Option(
        "dashboard.host",
        "TENSIONWATCH_DASHBOARD_HOST",
        "127.0.0.1",
        parse_str,
        "Address the dashboard listens on.",
    ),
    Option(
        "dashboard.port",
        "TENSIONWATCH_DASHBOARD_PORT",
        8501,
        int_range(1, 65535),
        "Port the dashboard listens on.",
    ),
    Option(
        "dashboard.password_hash",
        "TENSIONWATCH_DASHBOARD_PASSWORD_HASH",
        None,
        parse_str,
        "Dashboard login: salted scrypt/PBKDF2 hash (environment only; see docs/dashboard.md).",
        secret=True,
    ),
    Option(
        "dashboard.oidc",
        "TENSIONWATCH_DASHBOARD_OIDC",
        False,
        parse_bool,
        "Dashboard login through Streamlit's OIDC (st.login; [auth] in .streamlit/secrets.toml).",
    ),
    Option(
        "dashboard.allow_without_login",
        "TENSIONWATCH_DASHBOARD_ALLOW_WITHOUT_LOGIN",
        False,
        parse_bool,
        "Serve a non-loopback address without a login: only when something else guards the "
        "port (a container port published on the host's loopback, an authenticating proxy).",
    ),
    Option(
        "smtp.host",
        "TENSIONWATCH_SMTP_HOST",
        None,
        parse_str,
        "SMTP server for alert emails.",
    ),
    Option("smtp.port", "TENSIONWATCH_SMTP_PORT", 587, int_range(1, 65535), "SMTP port."),
    Option(
        "smtp.security",
        "TENSIONWATCH_SMTP_SECURITY",
        "starttls",
        choice("none", "starttls", "tls"),
        "SMTP transport security.",
    ),
    Option("smtp.user", "TENSIONWATCH_SMTP_USER", None, parse_str, "SMTP user name."),
    Option(
        "smtp.password",
        "TENSIONWATCH_SMTP_PASSWORD",
        None,
        parse_str,
        "SMTP password (environment only).",
        secret=True,
    ),
    Option(
        "smtp.mail_from",
        "TENSIONWATCH_MAIL_FROM",
        "tensionwatch@localhost",
        parse_address,
        "Sender address of alert emails.",
    ),
)
OPTION_BY_KEY = {o.key: o for o in OPTIONS}
SECTIONS = {"collector", "dashboard", "smtp"}
TABLE_ARRAYS = {"feeds", "alerts"}  # arrays of tables, parsed by their own modules


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    security: str
    user: str | None
    password: str | None = field(repr=False)
    mail_from: str


@dataclass(frozen=True)
class Settings:
    config_path: Path | None
    database: Path
    rules: Path
    feeds: tuple[FeedSpec, ...]
    archive: bool
    allow_private_networks: bool
    interval: float
    jitter: float
    max_backoff: float
    fetch: FetchPolicy
    dashboard_host: str
    dashboard_port: int
    smtp: SmtpSettings
    alerts: tuple[Mapping[str, Any], ...] = ()
    dashboard_password_hash: str | None = field(default=None, repr=False)
    dashboard_oidc: bool = False
    alerts_source: str = ""  # the file the [[alerts]] tables came from, for error messages
    workers: int = 8  # feeds fetched at once in a pass
    per_host: int = 2  # most feeds fetched at once from one host

    @property
    def enabled_feeds(self) -> tuple[FeedSpec, ...]:
        return tuple(f for f in self.feeds if f.enabled)


def find_config(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    """The config file to read: explicit, then TENSIONWATCH_CONFIG, then ./tensionwatch.toml."""
    chosen = explicit or env.get(ENV_CONFIG) or None
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            source = str(path)
            raise ConfigError(source, "(file)", "no such file: pass an existing TOML file")
        return path
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "(syntax)", f"not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(str(path), "(file)", f"cannot read: {e.strerror}") from e


def _flatten(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys for every scalar setting; unknown keys are errors (typos must not pass)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in TABLE_ARRAYS:
            continue
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(str(path), key, "expected a [table]", value, has_value=True)
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = subvalue
        else:
            flat[key] = value
    for key in flat:
        if key not in OPTION_BY_KEY:
            known = ", ".join(sorted(OPTION_BY_KEY) + sorted(TABLE_ARRAYS))
            raise ConfigError(str(path), key, f"unknown key; known keys are: {known}")
    return flat


def _resolve(values: dict[str, Any], from_file: set[str], base: Path) -> None:
    for key in list(values):
        option = OPTION_BY_KEY[key]
        if option.is_path and values[key] is not None:
            p = Path(values[key]).expanduser()
            values[key] = (base / p) if (key in from_file and not p.is_absolute()) else p


def load_settings(
    config_path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from the defaults, the config file and the environment."""
    env = os.environ if env is None else env
    path = find_config(config_path, env)
    data = read_toml(path) if path else {}
    where = str(path) if path else "(defaults)"
    flat = _flatten(path, data) if path else {}

    values: dict[str, Any] = {}
    from_file: set[str] = set()
    for option in OPTIONS:
        if option.secret and option.key in flat:
            raise ConfigError(
                where, option.key, f"secrets are never read from the file: set {option.env}"
            )
        if option.env and env.get(option.env, "") != "":
            source, raw = f"{ENVIRONMENT} {option.env}", env[option.env]
            key_name = option.env
        elif option.key in flat:
            source, raw, key_name = where, flat[option.key], option.key
            from_file.add(option.key)
        else:
            values[option.key] = option.default
            continue
        try:
            values[option.key] = option.parse(raw)
        except Invalid as e:
            shown = "***" if option.secret else raw
            raise ConfigError(source, key_name, str(e), shown, has_value=True) from None
    base = path.parent if path else Path.cwd()
    _resolve(values, from_file, base)
    _check_dashboard_access(values, where, env)

    feeds = _configured_feeds(path, data, values)
    if values["archive"]:
        feeds += load_feed_tables(paths.archive_feeds(), archive=True)
    _check_unique(feeds, where)
    alerts_source = where
    if "alerts" in data:
        alerts = data["alerts"]
    else:  # no [[alerts]] of its own: the seeded rules for the seeded dyads
        alerts_path = paths.seeds_dir() / "alerts.toml"
        if alerts_path.is_file():
            alerts, alerts_source = read_toml(alerts_path).get("alerts", []), str(alerts_path)
        else:
            alerts = []
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise ConfigError(where, "alerts", "expected [[alerts]] tables", alerts, has_value=True)

    rules = values["rules"] or paths.seeded_rules()
    return Settings(
        config_path=path,
        database=values["database"],
        rules=rules,
        feeds=tuple(feeds),
        archive=values["archive"],
        allow_private_networks=values["allow_private_networks"],
        interval=values["collector.interval"],
        jitter=values["collector.jitter"],
        max_backoff=values["collector.max_backoff"],
        workers=values["collector.workers"],
        per_host=values["collector.per_host"],
        fetch=FetchPolicy(
            user_agent=f"tensionwatch/{__version__} (+https://github.com/tensionwatch)",
            connect_timeout=values["collector.connect_timeout"],
            read_timeout=values["collector.read_timeout"],
            total_timeout=values["collector.total_timeout"],
            max_bytes=values["collector.max_bytes"],
            max_redirects=values["collector.max_redirects"],
            allow_private_networks=values["allow_private_networks"],
        ),
        dashboard_host=values["dashboard.host"],
        dashboard_port=values["dashboard.port"],
        dashboard_password_hash=values["dashboard.password_hash"],
        dashboard_oidc=values["dashboard.oidc"],
        smtp=SmtpSettings(
            host=values["smtp.host"],
            port=values["smtp.port"],
            security=values["smtp.security"],
            user=values["smtp.user"],
            password=values["smtp.password"],
            mail_from=values["smtp.mail_from"],
        ),
        alerts=tuple(alerts),
        alerts_source=alerts_source,
    )


def _check_dashboard_access(values: Mapping[str, Any], where: str, env: Mapping[str, str]) -> None:
    """A dashboard reachable from other machines must ask who is there."""
    host = values["dashboard.host"]
    variable = "TENSIONWATCH_DASHBOARD_HOST"
    source, key = (
        (f"{ENVIRONMENT} {variable}", variable) if env.get(variable) else (where, "dashboard.host")
    )
    if _is_loopback(host) or values["dashboard.allow_without_login"]:
        return
    if values["dashboard.password_hash"] or values["dashboard.oidc"]:
        return
    raise ConfigError(
        source,
        key,
        "a dashboard on an address other than loopback needs a login: set "
        "TENSIONWATCH_DASHBOARD_PASSWORD_HASH (make one with `python -m dashboard.auth`) or "
        'dashboard.oidc = true, or keep host = "127.0.0.1" (docs/dashboard.md#access)',
        host,
        has_value=True,
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _configured_feeds(
    path: Path | None, data: Mapping[str, Any], values: Mapping[str, Any]
) -> list[FeedSpec]:
    if path and "feeds" in data:
        if values["feeds_opml"] is not None:
            raise ConfigError(
                str(path), "feeds_opml", "give either [[feeds]] or feeds_opml, not both"
            )
        return load_feed_tables(path, tables=data["feeds"])
    if values["feeds_opml"] is not None:
        return load_opml(Path(values["feeds_opml"]))
    return load_feed_tables(paths.seeded_feeds())


def _check_unique(feeds: list[FeedSpec], where: str) -> None:
    seen: set[str] = set()
    for feed in feeds:
        if feed.url in seen:
            raise ConfigError(
                where, "feeds", "the same feed url is listed twice", feed.url, has_value=True
            )
        seen.add(feed.url)
