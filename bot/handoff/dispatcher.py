"""Sends queued e-mails from the outbox: retries with backoff while the mail server
is down or busy, survives restarts (the queue is in SQL), and never sends a message
again once it is marked sent. SQL runs in an executor, SMTP on the loop.

Each row stands alone. What can never work for it (a 5xx reply to MAIL, RCPT or DATA,
a malformed address or message, SMTPUTF8 needed but not offered) marks that row failed
at once; anything else that goes wrong with it, even an exception nobody expected, is
retried with backoff until its give-up time. Only the database failing fails a round.
When the server cannot be reached or stops answering, the rest of the round is counted
as failed attempts without waiting for the same timeout once per e-mail.

The timeouts are RFC 5321's (minutes, ``bot.settings.SmtpTimeouts``): a server that
stores a message and answers "250" late is waited for, not sent a second copy.

Several dispatchers may run at once, and each row is sent by one: a dispatcher claims
the next due row with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (a row another
is claiming is passed over, not waited for) and takes a lease on it in the same
transaction (``claimed_until``), longer than the longest conversation those timeouts
allow; the lease ends when the result is recorded. On SQLite the lease's conditional
UPDATE alone decides. Clocks of dispatcher hosts must agree (NTP).

When a mail can arrive twice: the server has the message once it has read its end,
but the row is marked sent only when the "250" has arrived and been recorded. A
dispatcher killed in between, or the database unreachable from the "250" until the
lease ends, leaves the row pending: it is sent again after the lease. A "250" later
than the timeout, or the connection lost while waiting for it, is a failed attempt:
sent again after the backoff. Every copy has the same Message-ID, so mail clients show
it once (docs/handoff.md, "When a mail can arrive twice").
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib
from prometheus_client import Counter, Gauge
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import sessionmaker

from bot import db, logs, settings
from bot.enquiries.models import EnquiryRow, OutboxRow
from bot.enquiries.store import purge, utcnow
from bot.settings import SmtpTimeouts

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(minutes=30)
COUNT_EVERY_SECONDS = 5.0
LEASE_MARGIN = timedelta(minutes=1)  # beyond the conversation: recording its result
ROUND_SIZE = 50  # rows a round claims at most, one after another
QUIT_TIMEOUT = 30.0  # the goodbye after "250"; the e-mail is delivered either way

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
    """An e-mail not delivered this time, worth retrying (a 4xx reply, say). Its text
    goes to ``last_error``; only ``summary`` is logged, since server replies often
    quote the addresses."""

    def __init__(self, summary: str, detail: str = ""):
        super().__init__(f"{summary}: {detail}" if detail else summary)
        self.summary, self.detail = summary, detail


class Unreachable(DeliveryError):
    """No session with the server, or it went silent: the next e-mail would wait the
    same timeout for the same result."""


class Rejected(DeliveryError):
    """Can never work: another attempt sends the same bytes and gets the same answer."""


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


# what cannot stand in an unquoted SMTP mailbox: controls (NUL, CR, LF), spaces, <>"
UNSENDABLE = re.compile(r'[\x00-\x1f\x7f\s<>"]')
LINE_ENDINGS = re.compile(rb"\r\n|\n|\r")
LEADING_DOT = re.compile(rb"(?m)^\.")
END_OF_HEADERS = re.compile(r"\r?\n\r?\n")


def address_problem(address: str) -> str | None:
    """Why ``address`` cannot go into MAIL FROM or RCPT TO, in words without it."""
    if "@" not in address:
        return "is empty or has no @"
    if UNSENDABLE.search(address):
        return 'contains a control character, a space or one of <>"'
    return None


def needs_smtputf8(message: Due) -> bool:
    """A non-ASCII address or header (RFC 6531); an 8-bit body needs only 8BITMIME."""
    headers = END_OF_HEADERS.split(message.raw, maxsplit=1)[0]
    return not (message.sender_address + message.recipient + headers).isascii()


def _prepared(message: Due) -> bytes:
    """The message's bytes with CRLF line ends (as SIZE counts them), or Rejected
    before any connection when it cannot be sent at all."""
    for role, address in (("sender", message.sender_address), ("recipient", message.recipient)):
        if problem := address_problem(address):
            raise Rejected(f"the {role} address {problem}")
    try:
        body = message.raw.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected("the message holds text that is not valid Unicode") from None
    body = LINE_ENDINGS.sub(b"\r\n", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body


def _classified(stage: str, error: Exception) -> DeliveryError:
    """A failed SMTP stage as an outcome: 5xx or malformed input Rejected, silence, a
    lost connection or 421 (closing) Unreachable, any other reply worth a retry."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if error.code == 421:
            return Unreachable(f"{stage} refused ({error.code})", error.message)
        kind = Rejected if 500 <= error.code < 600 else DeliveryError
        return kind(f"{stage} refused ({error.code})", error.message)
    if isinstance(error, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError)):
        return Unreachable(f"no reply to {stage} in time")
    if isinstance(error, OSError):  # SMTPServerDisconnected is a ConnectionError
        return Unreachable(f"connection failed at {stage} ({type(error).__name__})", str(error))
    if isinstance(error, ValueError):  # aiosmtplib refuses what cannot go on a command line
        return Rejected(f"{stage}: malformed address or message ({type(error).__name__})")
    return DeliveryError(f"{stage} failed ({type(error).__name__})", str(error))


async def _stage(stage: str, step):
    """Await one SMTP stage, its failure :func:`_classified`."""
    try:
        return await step
    except Exception as error:
        raise _classified(stage, error) from error


async def _hello(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.ehlo()
    except aiosmtplib.SMTPHeloError:
        await smtp.helo()


class SmtpTransport:
    """One connection per e-mail, each stage with its own timeout."""

    def __init__(self, options: dict, timeouts: SmtpTimeouts | None = None):
        self.options = options
        self.timeouts = timeouts or SmtpTimeouts()
        self.longest = timedelta(seconds=self.timeouts.conversation())
        self._closing: set[asyncio.Task] = set()

    async def send(self, message: Due) -> None:
        data = _prepared(message)
        smtp = await self._session()
        try:
            await self._transaction(smtp, message, data)
        except DeliveryError as error:
            if isinstance(error, Unreachable):
                smtp.close()
            else:
                self._quit_later(smtp)
            raise
        except BaseException:
            smtp.close()
            raise
        self._quit_later(smtp)

    async def _session(self) -> aiosmtplib.SMTP:
        """Connected, greeted, EHLO'd, TLS and login as ``client_options`` say."""
        options, timeouts = self.options, self.timeouts
        smtp = aiosmtplib.SMTP(
            hostname=options["hostname"],
            port=options["port"],
            use_tls=options.get("use_tls", False),
            start_tls=False,  # below, within the setup's timeout
            timeout=timeouts.mail,
        )
        try:
            await _stage(
                "the greeting",
                asyncio.wait_for(smtp.connect(timeout=timeouts.greeting), timeouts.greeting),
            )
            await _stage(
                "EHLO, STARTTLS or login", asyncio.wait_for(self._setup(smtp), timeouts.mail)
            )
        except DeliveryError as error:
            smtp.close()
            # a refusal here (a wrong password, say) is the server's or the
            # configuration's, never this e-mail's: retried, and the round stops
            raise Unreachable(error.summary, error.detail) from error
        except BaseException:
            smtp.close()
            raise
        return smtp

    async def _setup(self, smtp: aiosmtplib.SMTP) -> None:
        await _hello(smtp)
        if self.options.get("start_tls"):
            await smtp.starttls()
            await _hello(smtp)  # RFC 3207: what the server said before TLS is forgotten
        if self.options.get("username") is not None:
            await smtp.login(self.options["username"], self.options.get("password") or "")

    async def _transaction(self, smtp: aiosmtplib.SMTP, message: Due, data: bytes) -> None:
        timeouts = self.timeouts
        utf8 = needs_smtputf8(message)
        if utf8 and not smtp.supports_extension("smtputf8"):
            raise Rejected(
                "the mail server does not offer SMTPUTF8, which this e-mail needs "
                "(an address or header that is not ASCII)"
            )
        options = [f"SIZE={len(data)}"] if smtp.supports_extension("size") else []
        if utf8:
            options.append("SMTPUTF8")
        if not data.isascii() and smtp.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"
        await _stage(
            "MAIL FROM",
            smtp.mail(
                message.sender_address, options=options, encoding=encoding, timeout=timeouts.mail
            ),
        )
        await _stage(
            "RCPT TO", smtp.rcpt(message.recipient, encoding=encoding, timeout=timeouts.rcpt)
        )
        started = await _stage("DATA", smtp.execute_command(b"DATA", timeout=timeouts.data_start))
        if started.code != 354:
            raise _classified("DATA", aiosmtplib.SMTPDataError(started.code, started.message))
        ended = await _stage("the end of the message", self._message(smtp, data))
        if ended.code != 250:
            raise _classified(
                "the end of the message", aiosmtplib.SMTPDataError(ended.code, ended.message)
            )

    async def _message(self, smtp: aiosmtplib.SMTP, data: bytes):
        """The message and the reply to its end. Written and read with nothing awaited
        in between, so the reply cannot arrive unheard; the wait allows for sending it
        (data block) and for the server storing it (DATA termination)."""
        smtp.protocol.write(LEADING_DOT.sub(b"..", data) + b".\r\n")
        return await smtp.protocol.read_response(
            timeout=self.timeouts.data_block + self.timeouts.data_end
        )

    def _quit_later(self, smtp: aiosmtplib.SMTP) -> None:
        """QUIT while the result is recorded, not before: "250" was the delivery."""
        task = asyncio.get_running_loop().create_task(self._quit(smtp))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _quit(smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.quit(timeout=QUIT_TIMEOUT)
        except Exception:  # the goodbye is a courtesy
            pass
        finally:
            smtp.close()


class FileTransport:
    """Without SMTP configured: each message becomes an .eml file a person can open."""

    longest = timedelta(0)

    def __init__(self, directory: Path):
        self.directory = directory

    async def send(self, message: Due) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = message.message_id.strip("<>").replace("/", "_")
            target = self.directory / f"{name}.eml"
            staging = target.with_suffix(".tmp")
            staging.write_text(message.raw, encoding="utf-8")
            os.replace(staging, target)
        except OSError as error:
            raise DeliveryError(f"cannot write the .eml file ({type(error).__name__})") from error


def transport_from_settings():
    current = settings.get()
    if current.smtp is None:
        return FileTransport(current.outbox_dir)
    return SmtpTransport(current.smtp.client_options(), current.smtp.timeouts)


def backoff(attempts: int, first_retry: timedelta = FIRST_RETRY) -> timedelta:
    """15 s, 30 s, 1 min, ... at most 30 min between attempts."""
    return min(first_retry * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker | None = None,
        transport=None,
        first_retry: timedelta = FIRST_RETRY,
        lease: timedelta | None = None,
    ):
        self.factory = factory or db.session_factory()
        self.transport = transport or transport_from_settings()
        self.first_retry = first_retry
        longest = getattr(self.transport, "longest", timedelta(0))
        self.lease = longest + LEASE_MARGIN if lease is None else lease
        self.problem: str | None = "not started"
        # results not recorded yet because the database failed: recorded first next
        # round, while the lease still keeps other dispatchers off the row
        self.unrecorded: dict[int, DeliveryError | None] = {}
        db.create_schema(self.factory)

    def _claim_next(self, after_id: int) -> Due | None:
        """The next due row after ``after_id``, taken for ``lease``; None when none is
        left. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` passes over a row another
        dispatcher is taking, instead of waiting for it; the UPDATE's own condition
        decides where the database has no row locks (SQLite writes one at a time)."""
        while True:
            now = utcnow()
            due = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
            with self.factory.begin() as session:
                found = session.execute(
                    select(OutboxRow, EnquiryRow.conversation_id)
                    .join(EnquiryRow, OutboxRow.enquiry_id == EnquiryRow.id)
                    .where(
                        OutboxRow.id > after_id,
                        OutboxRow.status == "pending",
                        OutboxRow.next_attempt_at <= now,
                        due,
                    )
                    .order_by(OutboxRow.id)
                    .limit(1)
                    .with_for_update(skip_locked=True, of=OutboxRow)
                ).first()
                if found is None:
                    return None
                row, conversation = found
                taken = session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row.id, OutboxRow.status == "pending", due)
                    .values(claimed_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:
                    return Due(
                        row.id,
                        row.sender,
                        row.recipient,
                        row.message_id,
                        row.raw,
                        row.kind,
                        conversation,
                    )
            after_id = row.id  # another dispatcher took it meanwhile

    def count_by_status(self) -> dict[tuple[str, str], int]:
        with self.factory() as session:
            rows = session.execute(
                select(OutboxRow.kind, OutboxRow.status, func.count()).group_by(
                    OutboxRow.kind, OutboxRow.status
                )
            )
            return {(kind, status): count for kind, status, count in rows}

    def _record(self, message_id: int, outcome: DeliveryError | None) -> None:
        """Settle one attempt and end the lease: sent, failed (rejected, or retried
        until the give-up time) or due again after the backoff."""
        now = utcnow()
        with self.factory.begin() as session:
            row = session.get(OutboxRow, message_id)
            if row is None or row.status != "pending":
                return  # deleted meanwhile (erasure) or already settled
            row.attempts += 1
            row.claimed_until = None
            if outcome is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif isinstance(outcome, Rejected) or now >= row.give_up_at:
                row.status, row.last_error = "failed", str(outcome)
                why = "it was rejected" if isinstance(outcome, Rejected) else "retries ran out"
                log.error(
                    "giving up on %s after %s attempts (%s): %s",
                    row.message_id,
                    row.attempts,
                    why,
                    outcome.summary,
                )
            else:
                row.last_error = str(outcome)
                row.next_attempt_at = now + backoff(row.attempts, self.first_retry)
            DELIVERIES.labels(row.kind, "retry" if row.status == "pending" else row.status).inc()

    async def run_once(self) -> int:
        """Send what is due; returns how many were sent."""
        loop = asyncio.get_running_loop()
        for message_id, outcome in list(self.unrecorded.items()):
            await loop.run_in_executor(None, self._record, message_id, outcome)
            del self.unrecorded[message_id]
        sent = 0
        unreachable: Unreachable | None = None
        last_id = 0
        for _ in range(ROUND_SIZE):
            message = await loop.run_in_executor(None, self._claim_next, last_id)
            if message is None:
                break
            last_id = message.id
            token = logs.conversation_id.set(message.conversation_id)
            try:
                if unreachable is None:
                    outcome = await self._attempt(message)
                    if isinstance(outcome, Unreachable):
                        unreachable = outcome
                else:
                    outcome = DeliveryError(
                        "not tried: the mail server failed just before", str(unreachable)
                    )
                self.unrecorded[message.id] = outcome
                await loop.run_in_executor(None, self._record, message.id, outcome)
                del self.unrecorded[message.id]
                sent += outcome is None
            finally:
                logs.conversation_id.reset(token)
        return sent

    async def _attempt(self, message: Due) -> DeliveryError | None:
        """Send one row; whatever goes wrong is that row's outcome, not the round's."""
        try:
            await self.transport.send(message)
        except DeliveryError as error:
            outcome = error
        except Exception as error:  # a library's surprise: retried like a 4xx
            log.debug("unexpected error sending %s", message.message_id, exc_info=True)
            outcome = DeliveryError(f"unexpected {type(error).__name__}", str(error))
        else:
            return None
        if not isinstance(outcome, Rejected):  # a rejection is logged as an error, once
            log.warning("delivery of %s failed: %s", message.message_id, outcome.summary)
        return outcome

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
        """Readiness: the last round reached the database (mail server trouble and
        rejected e-mails are expected and handled per row, so they do not count)."""
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
