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
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot import db, logs, settings
from bot.enquiries.models import EnquiryRow, OutboxRow
from bot.enquiries.store import purge, utcnow

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(minutes=30)
COUNT_EVERY_SECONDS = 5.0

DELIVERIES = Counter(
    "hub_handoff_deliveries_total",
    "Attempts to deliver a handoff e-mail, by kind (contact, acknowledgement) and result",
    ["kind", "result"],
)
HANDOFFS = Gauge(
    "hub_handoff_mails",
    "Handoff e-mails in the outbox, by kind and status (pending, sent, failed)",
    ["kind", "status"],
)


class DeliveryError(Exception):
    """The mail server is unreachable or refused the message (worth retrying)."""


@dataclass(frozen=True)
class Due:
    id: int
    sender: str
    recipient: str
    message_id: str
    raw: str
    kind: str = "contact"
    conversation_id: str | None = None

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
    current = settings.get()
    if current.smtp is None:
        return FileTransport(current.outbox_dir)
    return SmtpTransport(current.smtp.client_options())


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
        self.problem: str | None = "not started"
        db.create_schema(self.factory)

    def _due(self) -> list[Due]:
        with self.factory() as session:
            rows = session.execute(
                select(OutboxRow, EnquiryRow.conversation_id)
                .join(EnquiryRow, OutboxRow.enquiry_id == EnquiryRow.id)
                .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utcnow())
                .order_by(OutboxRow.id)
                .limit(50)
            )
            return [
                Due(r.id, r.sender, r.recipient, r.message_id, r.raw, r.kind, conversation)
                for r, conversation in rows
            ]

    def count_by_status(self) -> dict[tuple[str, str], int]:
        with self.factory() as session:
            rows = session.execute(
                select(OutboxRow.kind, OutboxRow.status, func.count()).group_by(
                    OutboxRow.kind, OutboxRow.status
                )
            )
            return {(kind, status): count for kind, status, count in rows}

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
            DELIVERIES.labels(row.kind, "retry" if row.status == "pending" else row.status).inc()

    async def run_once(self) -> int:
        """Send what is due; returns how many were sent."""
        loop = asyncio.get_running_loop()
        sent = 0
        for message in await loop.run_in_executor(None, self._due):
            token = logs.conversation_id.set(message.conversation_id)
            try:
                sent += await self._deliver(message)
            finally:
                logs.conversation_id.reset(token)
        return sent

    async def _deliver(self, message: Due) -> bool:
        loop = asyncio.get_running_loop()
        try:
            await self.transport.send(message)
        except DeliveryError as error:
            log.warning("delivery of %s failed: %s", message.message_id, error)
            await loop.run_in_executor(None, self._record, message.id, str(error))
            return False
        await loop.run_in_executor(None, self._record, message.id, None)
        return True

    async def count_mails(self) -> None:
        counts = await asyncio.get_running_loop().run_in_executor(None, self.count_by_status)
        HANDOFFS.clear()
        for (kind, status), count in counts.items():
            HANDOFFS.labels(kind, status).set(count)

    async def run_forever(self, poll_seconds: float = 1.0, purge_every: float = 3600) -> None:
        """Send what is due every ``poll_seconds``; apply the retention period hourly."""
        loop = asyncio.get_running_loop()
        last_purge = last_count = float("-inf")
        while True:
            try:
                await self.run_once()
                if loop.time() - last_count >= COUNT_EVERY_SECONDS:
                    await self.count_mails()
                    last_count = loop.time()
                if loop.time() - last_purge >= purge_every:
                    days = settings.get().enquiry_retention_days
                    removed = await loop.run_in_executor(None, purge, days, self.factory)
                    if removed:
                        log.info(
                            "retention: removed %s enquiries older than %s days", removed, days
                        )
                    last_purge = loop.time()
                self.problem = None
            except Exception as error:  # the database may be restarting: keep going
                log.exception("dispatch round failed; retrying")
                self.problem = f"the last round failed: {type(error).__name__}"
            await asyncio.sleep(poll_seconds)

    async def not_ready(self) -> str | None:
        """Readiness: the last round reached the database (mail server trouble is
        expected and retried, so it does not count)."""
        return self.problem

    async def serve(self, port: int | None) -> None:
        """Deliver until cancelled; with a port, also answer health and metrics there."""
        if port is None:
            await self.run_forever()
            return
        from aiohttp import web

        from bot import operations

        app = web.Application()
        operations.aiohttp_routes(app, self.not_ready)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await self.run_forever()
        finally:
            await runner.cleanup()
