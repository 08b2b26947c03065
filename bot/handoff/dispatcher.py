"""Sends queued e-mails from the outbox: retries with backoff while the mail server
is down or refuses, survives restarts (the queue is in SQL), and never sends a
message again once it is marked sent. SQL runs in an executor, SMTP on the loop.

A message is marked sent right after the SMTP server accepted it; a crash in the
moment between the two is the one case that can send it twice, and then with the
same Message-ID, so mail clients show it once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot import db, settings
from bot.enquiries.models import OutboxRow
from bot.enquiries.store import purge, utcnow

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(minutes=30)


class DeliveryError(Exception):
    """The mail server is unreachable or refused the message (worth retrying)."""


@dataclass(frozen=True)
class Due:
    id: int
    sender: str
    recipient: str
    message_id: str
    raw: str

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


class SmtpTransport:
    def __init__(self, options: dict):
        self.options = options

    async def send(self, message: Due) -> None:
        try:
            await aiosmtplib.send(
                message.raw.encode("utf-8"),
                sender=message.sender_address,
                recipients=[message.recipient],
                timeout=30,
                **self.options,
            )
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from error


class FileTransport:
    """Without SMTP configured: each message becomes an .eml file a person can open."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def send(self, message: Due) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message.message_id.strip("<>").replace("/", "_")
        target = self.directory / f"{name}.eml"
        staging = target.with_suffix(".tmp")
        staging.write_text(message.raw, encoding="utf-8")
        os.replace(staging, target)


def transport_from_settings():
    options = settings.smtp()
    return SmtpTransport(options) if options else FileTransport(settings.outbox_dir())


def backoff(attempts: int, first_retry: timedelta = FIRST_RETRY) -> timedelta:
    """15 s, 30 s, 1 min, ... at most 30 min between attempts."""
    return min(first_retry * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker | None = None,
        transport=None,
        first_retry: timedelta = FIRST_RETRY,
    ):
        self.factory = factory or db.session_factory()
        self.transport = transport or transport_from_settings()
        self.first_retry = first_retry
        db.create_schema(self.factory)

    def _due(self) -> list[Due]:
        with self.factory() as session:
            rows = session.execute(
                select(OutboxRow)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utcnow())
                .order_by(OutboxRow.id)
                .limit(50)
            ).scalars()
            return [Due(r.id, r.sender, r.recipient, r.message_id, r.raw) for r in rows]

    def _record(self, message_id: int, error: str | None) -> None:
        now = utcnow()
        with self.factory.begin() as session:
            row = session.get(OutboxRow, message_id)
            if row is None or row.status != "pending":
                return  # deleted meanwhile (erasure) or already settled
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif now >= row.give_up_at:
                row.status, row.last_error = "failed", error
                log.error(
                    "giving up on %s after %s attempts: %s", row.message_id, row.attempts, error
                )
            else:
                row.last_error = error
                row.next_attempt_at = now + backoff(row.attempts, self.first_retry)

    async def run_once(self) -> int:
        """Send what is due; returns how many were sent."""
        loop = asyncio.get_running_loop()
        sent = 0
        for message in await loop.run_in_executor(None, self._due):
            try:
                await self.transport.send(message)
            except DeliveryError as error:
                log.warning("delivery of %s failed: %s", message.message_id, error)
                await loop.run_in_executor(None, self._record, message.id, str(error))
                continue
            await loop.run_in_executor(None, self._record, message.id, None)
            sent += 1
        return sent

    async def run_forever(self, poll_seconds: float = 1.0, purge_every: float = 3600) -> None:
        """Send what is due every ``poll_seconds``; apply the retention period hourly."""
        loop = asyncio.get_running_loop()
        last_purge = float("-inf")
        while True:
            try:
                await self.run_once()
                if loop.time() - last_purge >= purge_every:
                    days = settings.enquiry_retention_days()
                    removed = await loop.run_in_executor(None, purge, days, self.factory)
                    if removed:
                        log.info(
                            "retention: removed %s enquiries older than %s days", removed, days
                        )
                    last_purge = loop.time()
            except Exception:  # the database may be restarting: keep the dispatcher alive
                log.exception("dispatch round failed; retrying")
            await asyncio.sleep(poll_seconds)
