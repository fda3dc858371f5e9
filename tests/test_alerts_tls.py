"""SMTP with STARTTLS, implicit TLS and a login, against aiosmtpd on 127.0.0.1.

The server's certificate is made for the test by the ``openssl`` command
(skipped where it is missing); the client trusts exactly that certificate,
through the same code path as production (only the CA list differs).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts.deliver import PermanentFailure, SmtpTransport, TemporaryFailure
from tensionwatch.config import SmtpSettings
from tests.smtpserver import SmtpRecorder, free_port

RAW = (
    b"Subject: tls\r\nFrom: a@example.org\r\nTo: b@example.org\r\n\r\nover TLS\r\n.leading dot\r\n"
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alerts"
    # handled=False: aiosmtpd answers a refusal with its own 535
    return AuthResult(success=ok and auth_data.password == b"s3cret", handled=False)


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture(params=["starttls", "tls"])
def tls_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[SmtpRecorder, str]]:
    recorder = SmtpRecorder()
    recorder.port = free_port()
    security: str = request.param
    options: dict[str, Any] = {"authenticator": authenticate}
    if security == "starttls":
        options |= {"tls_context": server_context(certificate), "require_starttls": True}
    else:  # the whole connection is TLS; aiosmtpd only counts STARTTLS as TLS for AUTH
        options |= {"ssl_context": server_context(certificate), "auth_require_tls": False}
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port, **options)
    controller.start()
    try:
        yield recorder, security
    finally:
        controller.stop()


def transport(
    server: SmtpRecorder, security: str, certificate: tuple[Path, Path], password: str
) -> SmtpTransport:
    settings = SmtpSettings(
        host="127.0.0.1", port=server.port, security=security, user="alerts",
        password=password, mail_from="a@example.org",
    )  # fmt: skip
    return SmtpTransport(settings, timeout=10, context=client_context(certificate))


def test_login_over_tls_delivers(
    tls_server: tuple[SmtpRecorder, str], certificate: tuple[Path, Path]
) -> None:
    server, security = tls_server
    transport(server, security, certificate, "s3cret").send(RAW, "a@example.org", ["b@example.org"])
    assert len(server.messages) == 1
    received = message_from_bytes(RAW, policy=default)
    assert server.messages[0]["Subject"] == received["Subject"]
    assert ".leading dot" in server.messages[0].get_content()


def test_a_wrong_password_is_a_permanent_failure(
    tls_server: tuple[SmtpRecorder, str], certificate: tuple[Path, Path]
) -> None:
    server, security = tls_server
    with pytest.raises(PermanentFailure, match="535"):
        transport(server, security, certificate, "wrong").send(RAW, "a@example.org", ["b@x.org"])
    assert server.messages == []


def test_an_untrusted_certificate_is_refused(
    tls_server: tuple[SmtpRecorder, str], certificate: tuple[Path, Path]
) -> None:
    server, security = tls_server
    settings = SmtpSettings("127.0.0.1", server.port, security, "alerts", "s3cret", "a@x.org")
    with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpTransport(settings, timeout=10).send(RAW, "a@x.org", ["b@x.org"])
    assert server.messages == []
