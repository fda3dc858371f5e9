"""Configuration: defaults, file, environment overrides, and one test per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import ConfigError
from tensionwatch import paths
from tensionwatch.config import OPTIONS, load_settings
from tests.conftest import WriteConfig


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(env={})
    assert settings.config_path is None
    assert settings.database == Path("data/tensionwatch.db")
    assert settings.rules == paths.seeded_rules()
    assert settings.dashboard_host == "127.0.0.1" and settings.dashboard_port == 8501
    assert not settings.allow_private_networks
    live = [f for f in settings.feeds if not f.archive]
    archive = [f for f in settings.feeds if f.archive]
    assert len(live) >= 20 and {f.lang for f in live} >= {"ar", "en", "fr", "es"}
    assert all(f.country and f.lang for f in live)
    assert len(archive) == 11 and all(Path(f.url).is_absolute() for f in archive)


def test_file_values_and_relative_paths(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text("<rss/>")
    path = write_config(
        """
        database = "db/tw.db"
        archive = false
        [collector]
        interval = "30m"
        max_bytes = "2 MiB"
        [dashboard]
        port = 9000
        [[feeds]]
        url = "https://example.org/rss"
        name = "Example"
        country = "MA"
        lang = "fr"
        interval = "2h"
        [[feeds]]
        url = "feed.xml"
        enabled = false
        """
    )
    settings = load_settings(path, env={})
    assert settings.database == tmp_path / "db/tw.db"
    assert settings.interval == 1800 and settings.fetch.max_bytes == 2 * 1024 * 1024
    assert settings.dashboard_port == 9000
    first, second = settings.feeds
    assert (first.url, first.name, first.country, first.lang, first.interval) == (
        "https://example.org/rss", "Example", "MA", "fr", 7200,
    )  # fmt: skip
    assert second.url == str(tmp_path / "feed.xml") and not second.enabled
    assert settings.enabled_feeds == (first,)


def test_environment_overrides_the_file(write_config: WriteConfig) -> None:
    path = write_config('database = "from-file.db"\n[smtp]\nport = 25\n')
    settings = load_settings(
        path,
        env={
            "TENSIONWATCH_DATABASE": "/tmp/from-env.db",
            "TENSIONWATCH_SMTP_PORT": "2525",
            "TENSIONWATCH_SMTP_PASSWORD": "s3cret",
            "TENSIONWATCH_ALLOW_PRIVATE_NETWORKS": "1",
        },
    )
    assert settings.database == Path("/tmp/from-env.db")
    assert settings.smtp.port == 2525 and settings.smtp.password == "s3cret"
    assert settings.allow_private_networks and settings.fetch.allow_private_networks
    assert "s3cret" not in repr(settings)


def test_config_file_found_through_the_environment(write_config: WriteConfig) -> None:
    path = write_config('database = "x.db"\n', name="elsewhere.toml")
    settings = load_settings(env={"TENSIONWATCH_CONFIG": str(path)})
    assert settings.config_path == path


def test_local_tensionwatch_toml_is_picked_up(write_config: WriteConfig) -> None:
    write_config("archive = false\n")
    assert load_settings(env={}).archive is False


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("databse = 'x.db'\n", "databse", "unknown key"),
        ("[collector]\ninterval = 'often'\n", "collector.interval", "expected a duration"),
        ("[collector]\ninterval = 5\n", "collector.interval", "between 60 and 604800"),
        ("[dashboard]\nport = 70000\n", "dashboard.port", "from 1 to 65535"),
        ("[smtp]\nsecurity = 'ssl'\n", "smtp.security", "none, starttls, tls"),
        ("[smtp]\npassword = 'x'\n", "smtp.password", "TENSIONWATCH_SMTP_PASSWORD"),
        ("[smtp]\nmail_from = 'nobody'\n", "smtp.mail_from", "email address"),
        ("allow_private_networks = 'maybe'\n", "allow_private_networks", "true or false"),
        ("[collector]\nmax_bytes = '1 TB'\n", "collector.max_bytes", "1 KiB to 1 GiB"),
        ("collector = 3\n", "collector", "expected a [table]"),
        ("[[feeds]]\nname = 'x'\n", "feeds[0].url", "every feed needs a url"),
        ("[[feeds]]\nurl = 'ftp://x/y'\n", "feeds[0].url", "only http(s) URLs"),
        ("[[feeds]]\nurl = 'javascript:alert(1)'\n", "feeds[0].url", "only http(s)"),
        ("[[feeds]]\nurl = 'missing.xml'\n", "feeds[0].url", "no such file"),
        ("[[feeds]]\nurl = 'https://a.org/'\ncountry = 'Morocco'\n", "feeds[0].country",
         "two-letter ISO 3166"),
        ("[[feeds]]\nurl = 'https://a.org/'\nlang = 'FR'\n", "feeds[0].lang", "ISO 639-1"),
        ("[[feeds]]\nurl = 'https://a.org/'\ninterval = 10\n", "feeds[0].interval",
         "between 60"),
        ("[[feeds]]\nurl = 'https://a.org/'\ncolour = 'red'\n", "feeds[0].colour", "unknown key"),
        ("[[feeds]]\nurl = 'https://a.org/'\n[[feeds]]\nurl = 'https://a.org/'\n", "feeds",
         "listed twice"),
        ("database = \n", "(syntax)", "not valid TOML"),
        ("[dashboard]\nhost = '0.0.0.0'\n", "dashboard.host", "needs a login"),
    ],
)  # fmt: skip
def test_each_mistake_names_file_key_and_expectation(
    write_config: WriteConfig, text: str, key: str, expected: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert message.startswith(str(path)), message
    assert key in message and expected in message, message


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env={"TENSIONWATCH_SMTP_PORT": "smtp"})
    assert "TENSIONWATCH_SMTP_PORT" in str(raised.value) and "'smtp'" in str(raised.value)


@pytest.mark.parametrize(
    ("env", "served"),
    [
        ({"TENSIONWATCH_DASHBOARD_HOST": "localhost"}, True),
        ({"TENSIONWATCH_DASHBOARD_HOST": "::1"}, True),
        ({"TENSIONWATCH_DASHBOARD_HOST": "127.0.0.2"}, True),
        ({"TENSIONWATCH_DASHBOARD_HOST": "0.0.0.0"}, False),
        ({"TENSIONWATCH_DASHBOARD_HOST": "192.168.1.20"}, False),
        ({"TENSIONWATCH_DASHBOARD_HOST": "tensionwatch.example.org"}, False),
        ({"TENSIONWATCH_DASHBOARD_HOST": "0.0.0.0", "TENSIONWATCH_DASHBOARD_OIDC": "1"}, True),
        (
            {
                "TENSIONWATCH_DASHBOARD_HOST": "0.0.0.0",
                "TENSIONWATCH_DASHBOARD_PASSWORD_HASH": "scrypt$16384$8$1$c2FsdA==$aGFzaA==",
            },
            True,
        ),
        (
            {
                "TENSIONWATCH_DASHBOARD_HOST": "0.0.0.0",
                "TENSIONWATCH_DASHBOARD_ALLOW_WITHOUT_LOGIN": "true",
            },
            True,
        ),
    ],
)
def test_dashboard_off_loopback_needs_a_login(env: dict[str, str], served: bool) -> None:
    if served:
        assert load_settings(env=env).dashboard_host == env["TENSIONWATCH_DASHBOARD_HOST"]
        return
    with pytest.raises(ConfigError) as raised:
        load_settings(env=env)
    message = str(raised.value)
    assert message.startswith("environment TENSIONWATCH_DASHBOARD_HOST"), message
    assert repr(env["TENSIONWATCH_DASHBOARD_HOST"]) in message, message
    assert "TENSIONWATCH_DASHBOARD_PASSWORD_HASH" in message, message


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml", env={})


def test_opml_feed_list(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "feeds.opml").write_text(
        """<?xml version="1.0"?><opml version="2.0"><body>
        <outline text="Maghreb"><outline text="One" xmlUrl="https://one.example/rss"
          country="DZ" language="fr-DZ"/></outline>
        <outline text="Two" xmlUrl="https://two.example/atom"/></body></opml>"""
    )
    settings = load_settings(write_config("feeds_opml = 'feeds.opml'\narchive = false\n"), env={})
    assert [(f.url, f.name, f.country, f.lang) for f in settings.feeds] == [
        ("https://one.example/rss", "One", "DZ", "fr"),
        ("https://two.example/atom", "Two", "", ""),
    ]


def test_every_setting_is_documented() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    for option in OPTIONS:
        assert f"`{option.key}`" in docs, option.key
        if option.env:
            assert f"`{option.env}`" in docs, option.env
