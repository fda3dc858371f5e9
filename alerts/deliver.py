"""Delivery: SMTP with bounded retries, or an outbox folder of ``.eml`` files.

The guarantee (docs/alerts.md): every message is recorded with its
Message-ID *before* the first attempt. Failures are sorted by what the
server can have seen:

- before the message body was handed over (connection refused or lost, a
  4xx to MAIL, RCPT or DATA, or a 4xx after the body): nothing was
  accepted, so the attempt is repeated (``TemporaryFailure``);
- a 5xx at any step: refused for good, recorded as ``failed``
  (``PermanentFailure``);
- the connection breaking or timing out *after* the body was sent and
  before the server's reply: the server may have accepted it, so it is
  recorded as ``unknown`` and never sent again automatically
  (``AmbiguousFailure``). At most once, never twice.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from model import AlertError
from storage.alert_store import MessageRow, claim_message, update_message
from tensionwatch.config import SmtpSettings

if TYPE_CHECKING:
    import sqlite_utils

Sleep = Callable[[float], None]
RETRY_DELAYS = (2.0, 10.0)  # seconds between the attempts of one delivery run
MAX_ATTEMPTS = 9  # over all runs; after that a temporary failure counts as permanent
SMTP_TIMEOUT = 30.0


class DeliveryFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryFailure):
    """Not accepted, worth trying again (4xx, connection trouble before the body)."""


class PermanentFailure(DeliveryFailure):
    """Refused for good (5xx)."""


class AmbiguousFailure(DeliveryFailure):
    """The connection broke after the body was sent: it may have been accepted."""


class Transport(Protocol):
    def send(self, raw: bytes, mail_from: str, recipients: Sequence[str]) -> None: ...


def _check(code: int, reply: bytes | str, step: str) -> None:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    if 200 <= code < 400:
        return
    message = f"{step}: {code} {text}".strip()
    if 400 <= code < 500:
        raise TemporaryFailure(message)
    raise PermanentFailure(message)


@dataclass(frozen=True)
class SmtpTransport:
    """One SMTP conversation per message, step by step, so that failures can be sorted."""

    settings: SmtpSettings
    timeout: float = SMTP_TIMEOUT
    context: ssl.SSLContext | None = None  # default: the system's CAs, hostname checked

    def _tls(self) -> ssl.SSLContext:
        return self.context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host is not None
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self._tls())
        return smtplib.SMTP(s.host, s.port, timeout=self.timeout)

    def send(self, raw: bytes, mail_from: str, recipients: Sequence[str]) -> None:
        s = self.settings
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as e:
            raise TemporaryFailure(f"cannot connect to {s.host}:{s.port}: {e}") from e
        try:
            self._converse(smtp, raw, mail_from, recipients)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()  # the message's fate was settled before QUIT

    def _converse(
        self, smtp: smtplib.SMTP, raw: bytes, mail_from: str, recipients: Sequence[str]
    ) -> None:
        s = self.settings
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password or "")
            _check(*smtp.mail(mail_from), "MAIL FROM")
            for rcpt in recipients:
                _check(*smtp.rcpt(rcpt), f"RCPT TO {rcpt}")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                _check(code, reply, "DATA")
                raise TemporaryFailure(f"DATA: unexpected {code} {reply!r}")
        except smtplib.SMTPResponseException as e:
            _check(e.smtp_code, e.smtp_error, "SMTP")
            raise TemporaryFailure(f"SMTP: {e.smtp_code} {e.smtp_error!r}") from e
        except (OSError, smtplib.SMTPException) as e:
            raise TemporaryFailure(f"SMTP conversation failed before the message: {e}") from e
        # From here the body is on its way: a broken connection is ambiguous.
        try:
            smtp.send(_dot_stuffed(raw))
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as e:
            raise AmbiguousFailure(
                f"connection lost after the message was sent, before the reply: {e}"
            ) from e
        _check(code, reply, "end of DATA")


def _dot_stuffed(raw: bytes) -> bytes:
    """The message body as DATA wants it: CRLF lines, leading dots doubled, ``.`` ending."""
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", raw)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def outbox_path(folder: Path, message_id: str, now: datetime) -> Path:
    """Where a message's .eml goes: named by time and Message-ID, so never overwritten."""
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in message_id.strip("<>"))
    return folder / f"{now:%Y%m%dT%H%M%SZ}-{safe}.eml"


def write_outbox(path: Path, raw: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    except OSError as e:
        raise AlertError(
            f"cannot write the alert email to {path}: {e.strerror or e}; "
            "check that the outbox folder beside the database is writable"
        ) from e


def deliver_message(
    db: sqlite_utils.Database,
    message: MessageRow,
    transport: Transport,
    mail_from: str,
    clock: Callable[[], datetime],
    sleep: Sleep,
) -> str:
    """Try to send a recorded message (a few attempts with back-off); return its new status
    (``skipped`` when another evaluation is already sending it)."""
    if not claim_message(db, message.message_id, clock()):
        return "skipped"
    attempts = message.attempts
    delays = list(RETRY_DELAYS)
    while True:
        attempts += 1
        try:
            transport.send(message.raw, mail_from, message.recipients)
        except PermanentFailure as e:
            update_message(db, message.message_id, "failed", clock(), error=e.reason,
                           attempted=True)  # fmt: skip
            return "failed"
        except AmbiguousFailure as e:
            update_message(db, message.message_id, "unknown", clock(), error=e.reason,
                           attempted=True)  # fmt: skip
            return "unknown"
        except TemporaryFailure as e:
            if attempts >= MAX_ATTEMPTS:
                update_message(db, message.message_id, "failed", clock(),
                               error=f"gave up after {attempts} attempts: {e.reason}",
                               attempted=True)  # fmt: skip
                return "failed"
            if delays:
                update_message(db, message.message_id, "sending", clock(), error=e.reason,
                               attempted=True)  # fmt: skip
                sleep(delays.pop(0))
                continue
            later = clock() + timedelta(minutes=5 * 2 ** min(attempts, 6))
            update_message(db, message.message_id, "deferred", clock(), error=e.reason,
                           attempted=True, next_attempt=later)  # fmt: skip
            return "deferred"
        update_message(db, message.message_id, "sent", clock(), attempted=True)
        return "sent"
