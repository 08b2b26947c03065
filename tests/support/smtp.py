"""A real SMTP server (aiosmtpd) for the handoff tests, which can be down, refuse,
or store a message and answer late."""

from __future__ import annotations

import asyncio
import threading
import time
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from harness.servers import free_port


class Mailbox:
    """aiosmtpd handler: keeps every accepted message with its envelope; can refuse,
    stall, or store a message and only then wait ``reply_delay`` seconds before "250"
    (as a slow server does while it writes to disk or scans)."""

    def __init__(self, reply_delay: float = 0.0):
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []  # aiosmtpd's: mail_from, mail_options, rcpt_tos
        self.refuse = False
        self.refuse_recipients: dict[str, str] = {}  # address -> the reply to its RCPT
        self.reply_delay = reply_delay
        self.stall = threading.Event()  # set: hold every transaction at RCPT
        self.stored = threading.Event()  # set when a message has been stored

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        while self.stall.is_set():
            await asyncio.sleep(0.05)
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Requested action aborted: try again later"
        content = envelope.original_content
        self.messages.append(
            message_from_string(content.decode("utf-8"), policy=policy.default)
            if envelope.smtp_utf8  # UTF-8 headers, which the bytes parser would mangle
            else message_from_bytes(content, policy=policy.default)
        )
        self.envelopes.append(envelope)
        self.stored.set()
        await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


class SmtpServer:
    def __init__(self, reply_delay: float = 0.0, smtputf8: bool = False):
        self.port = free_port()
        self.mailbox = Mailbox(reply_delay)
        self.smtputf8 = smtputf8  # offer SMTPUTF8 (internationalised addresses)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def options(self) -> dict:
        return {"hostname": "127.0.0.1", "port": self.port, "use_tls": False, "start_tls": False}

    @property
    def env(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none"}


@pytest.fixture(name="smtp")
def smtp_of_one_test():
    """A server for one test alone, for tests that count every message it received
    (the conftest's ``smtp`` serves a whole module); import it to use it."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
