"""The dashboard's login gate: salted hashes from the environment, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import check_hash_format, hash_password, verify_password
from model import ConfigError
from tests.dbfactory import build_sample_database
from tests.test_dashboard import APP

PASSWORD = "correct horse battery staple"


def pbkdf2(password: str, iterations: int = 200_000) -> str:
    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"pbkdf2_sha256${iterations}${encoded[0]}${encoded[1]}"


@pytest.mark.parametrize(
    ("name", "encoded", "password", "ok"),
    [
        ("scrypt, right password", hash_password(PASSWORD), PASSWORD, True),
        ("scrypt, wrong password", hash_password(PASSWORD), PASSWORD + "!", False),
        ("pbkdf2, right password", pbkdf2(PASSWORD), PASSWORD, True),
        ("pbkdf2, wrong password", pbkdf2(PASSWORD), "", False),
        ("pbkdf2, too few iterations", pbkdf2(PASSWORD, 1000), PASSWORD, False),
        ("plain text is not a hash", PASSWORD, PASSWORD, False),
        ("garbage", "scrypt$x$y$z$!$!", PASSWORD, False),
    ],
)
def test_verify_password(name: str, encoded: str, password: str, ok: bool) -> None:
    assert verify_password(password, encoded) is ok, name


def test_two_hashes_of_one_password_differ() -> None:
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    with pytest.raises(ConfigError, match=r"python -m dashboard\.auth"):
        check_hash_format("hunter2")


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TENSIONWATCH_DATABASE", str(build_sample_database(tmp_path / "s.db")))
    monkeypatch.setenv("TENSIONWATCH_DASHBOARD_PASSWORD_HASH", hash_password(PASSWORD))
    return AppTest.from_file(APP, default_timeout=30).run()


def test_login_gate(gated: AppTest) -> None:
    at = gated
    assert not at.exception
    assert not at.get("vega_lite_chart") and not at.metric  # nothing shown before login
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong password."]
    assert not at.get("vega_lite_chart")
    at.text_input[0].set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.get("vega_lite_chart")  # the overview, once logged in
