"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), with scripted answers.

Use the ``smtp_server`` fixture::

    def test_x(smtp_server):
        smtp_server.data_replies = ["451 4.3.0 try again later"]  # then accept
        ... send to smtp_server.host, smtp_server.port ...
        assert len(smtp_server.messages) == 1

``data_replies`` are the answers to the end of the message, one per
attempt, before the server goes back to accepting; ``accept_delay`` makes
the server store the message and then wait that long before its ``250``
(to break a client's time-out after acceptance). ``messages`` holds every
accepted message as ``email.message.EmailMessage``, ``envelopes`` their
envelope senders and recipients.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpRecorder:
    """The aiosmtpd handler: scripted answers, every accepted message kept."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_replies: list[str] = []
        self.accept_delay = 0.0
        self.attempts = 0
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        parsed = message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.accept_delay:
            await asyncio.sleep(self.accept_delay)
        return "250 2.0.0 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    recorder = SmtpRecorder()
    recorder.port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()
