"""The outbox dispatcher against real parts (aiosmtpd, SQLite and PostgreSQL): one row
never stops the others, internationalised addresses go with SMTPUTF8 or fail with the
reason, a slow "250" is waited for instead of sent again, and two dispatchers on one
database deliver each e-mail once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, update

from bot import db
from bot.__main__ import main
from bot.enquiries import store
from bot.enquiries.models import OutboxRow
from bot.handoff.dispatcher import LEASE_MARGIN, Dispatcher, SmtpTransport, transport_from_settings
from bot.settings import PROJECT_ROOT, SettingsError, SmtpTimeouts, load
from tests.support.enquiries import new_enquiry
from tests.support.postgres import new_database
from tests.support.smtp import SmtpServer, smtp_of_one_test  # noqa: F401 (the fixture)


def message_id_of(message) -> str:
    """The Message-ID as sent: a long one is folded onto its own line (RFC 5322 allows
    it), which the parser keeps as leading white space."""
    return message["Message-ID"].strip()


def outbox(factory) -> list[OutboxRow]:
    with factory() as session:
        return list(session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars())


def change_row(factory, row_id: int, **values) -> None:
    """Write a row as no validation would let it be written (what a bug could store)."""
    with factory.begin() as session:
        session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))


def submit(facts, factory, count: int) -> list[list[OutboxRow]]:
    """``count`` enquiries; each one's outbox rows (contact, acknowledgement)."""
    for n in range(count):
        store.submit(new_enquiry(facts, f"visitor-{n}"), factory)
    rows = outbox(factory)
    return [rows[i : i + 2] for i in range(0, len(rows), 2)]


async def run_until(
    dispatcher: Dispatcher, done, timeout: float, poll: float = 0.1, linger: float = 0.0
) -> float:
    """Run the dispatcher as ``python -m bot dispatch`` does until ``done()`` (checked
    off the loop) or ``timeout``, then ``linger`` seconds more (when a retry would
    come); returns the seconds until done."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(dispatcher.run_forever(poll_seconds=poll))
    try:
        while loop.time() - started < timeout and not await loop.run_in_executor(None, done):
            await asyncio.sleep(0.1)
        took = loop.time() - started
        await asyncio.sleep(linger)
        return took
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def with_to_header(raw: str, value: str) -> str:
    return re.sub(r"(?m)^To: .*$", lambda _: f"To: {value}\r", raw, count=1)


# -- one row never stops the others ---------------------------------------------------


BROKEN_ROWS = {
    # before: the round stopped at aiosmtplib's ValueError, every later enquiry queued
    "a NUL in the address": dict(recipient="lindner\x00@example.org"),
    # before: parseaddr cut it short and the e-mail went to an address nobody stored
    "a command smuggled into the address": dict(
        recipient="lindner@example.org>\r\nRCPT TO:<other@example.net"
    ),
    # before: retried for HANDOFF_GIVE_UP_HOURS
    "an address the server refuses with 550": dict(recipient="gone@example.org"),
}


@pytest.mark.parametrize("broken", BROKEN_ROWS)
def test_a_row_that_can_never_be_sent_fails_alone_and_the_next_enquiry_is_delivered(
    broken, facts, sqlite_factory, smtp, monkeypatch, caplog, capsys
):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_factory.kw["bind"].url))
    smtp.mailbox.refuse_recipients["gone@example.org"] = (
        "550 5.1.1 <gone@example.org>: no such user"
    )
    (bad, _), _ = submit(facts, sqlite_factory, 2)
    change_row(sqlite_factory, bad.id, **BROKEN_ROWS[broken])
    dispatcher = Dispatcher(sqlite_factory, SmtpTransport(smtp.options))
    caplog.set_level(logging.INFO)

    def three_delivered() -> bool:
        return len(smtp.mailbox.messages) >= 3

    asyncio.run(run_until(dispatcher, three_delivered, timeout=10, linger=0.5))
    assert len(smtp.mailbox.messages) == 3
    assert bad.message_id not in {message_id_of(m) for m in smtp.mailbox.messages}
    rows = outbox(sqlite_factory)
    assert [r.status for r in rows] == ["failed", "sent", "sent", "sent"]
    assert rows[0].attempts == 1 and rows[0].last_error and rows[0].claimed_until is None
    assert asyncio.run(dispatcher.not_ready()) is None  # a row's failure is not the service's
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and bad.message_id in errors[0].getMessage()
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert not [line for line in ours if "lindner" in line or "gone@" in line]  # no address
    assert main(["enquiries", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[3] == "failed" and listed[1].split()[3:5] == ["handed", "over"]


def test_the_reasons_say_what_was_wrong(facts, sqlite_factory, smtp):
    smtp.mailbox.refuse_recipients["gone@example.org"] = "550 5.1.1 no such user"
    rows = [row for pair in submit(facts, sqlite_factory, 2) for row in pair]
    change_row(sqlite_factory, rows[0].id, recipient="lindner\x00@example.org")
    change_row(sqlite_factory, rows[1].id, recipient="other.example.org")
    change_row(sqlite_factory, rows[2].id, recipient="gone@example.org")
    asyncio.run(Dispatcher(sqlite_factory, SmtpTransport(smtp.options)).run_once())
    errors = [r.last_error for r in outbox(sqlite_factory)]
    assert errors[0] == 'the recipient address contains a control character, a space or one of <>"'
    assert errors[1] == "the recipient address is empty or has no @"
    assert errors[2] == "RCPT TO refused (550): 5.1.1 no such user"
    assert errors[3] is None


class Surprising(SmtpTransport):
    """A real SMTP transport that raises what nobody expected for one Message-ID."""

    def __init__(self, options, message_id: str):
        super().__init__(options)
        self.message_id = message_id

    async def send(self, message):
        if message.message_id == self.message_id:
            raise RuntimeError("a bug")
        await super().send(message)


def test_an_unexpected_error_is_that_rows_retry_and_then_its_failure(
    facts, sqlite_factory, smtp, monkeypatch
):
    (odd, _), _ = submit(facts, sqlite_factory, 2)
    dispatcher = Dispatcher(
        sqlite_factory, Surprising(smtp.options, odd.message_id), first_retry=timedelta(0)
    )
    assert asyncio.run(dispatcher.run_once()) == 3
    row = outbox(sqlite_factory)[0]
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "unexpected RuntimeError: a bug"
    change_row(sqlite_factory, odd.id, give_up_at=store.utcnow())  # as if 48 h had passed
    assert asyncio.run(dispatcher.run_once()) == 0
    row = outbox(sqlite_factory)[0]
    assert row.status == "failed" and row.attempts == 2


def test_a_server_that_never_greets_costs_one_timeout_per_round_not_one_per_mail(
    facts, sqlite_factory
):
    """Its TCP port accepts (the kernel's backlog) but no 220 ever comes."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        options = {"hostname": "127.0.0.1", "port": silent.getsockname()[1], "use_tls": False}
        transport = SmtpTransport({**options, "start_tls": False}, SmtpTimeouts(greeting=1.0))
        submit(facts, sqlite_factory, 2)
        started = time.monotonic()
        assert asyncio.run(Dispatcher(sqlite_factory, transport).run_once()) == 0
        took = time.monotonic() - started
    finally:
        silent.close()
    rows = outbox(sqlite_factory)
    assert 1.0 <= took < 1.8  # one greeting timeout, not four
    assert all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert rows[0].last_error == "no reply to the greeting in time"
    assert rows[1].last_error.startswith("not tried: the mail server failed just before")


# -- internationalised addresses -------------------------------------------------------

INTERNATIONAL = {
    "recipient": dict(recipient="jürgen@example.org", to="Jürgen Müller <jürgen@example.org>"),
    "header only": dict(recipient="juergen@example.org", to="Jürgen Müller <juergen@example.org>"),
}


def international_row(facts, factory, case: str) -> tuple[OutboxRow, str]:
    """The first enquiry's contact e-mail, addressed as the renderer addresses a
    non-ASCII local part (the domain IDNA-encoded, the local part kept): UTF-8 in the
    envelope and the header, or in the header only."""
    (row, _), _ = submit(facts, factory, 2)
    values = INTERNATIONAL[case]
    change_row(
        factory, row.id, recipient=values["recipient"], raw=with_to_header(row.raw, values["to"])
    )
    return row, values["recipient"]


@pytest.mark.parametrize("case", INTERNATIONAL)
def test_an_internationalised_address_goes_with_smtputf8_where_the_server_offers_it(
    case, facts, sqlite_factory
):
    server = SmtpServer(smtputf8=True)
    server.start()
    try:
        row, recipient = international_row(facts, sqlite_factory, case)
        assert asyncio.run(Dispatcher(sqlite_factory, SmtpTransport(server.options)).run_once())
        received = server.mailbox.wait_for(4)
    finally:
        server.stop()
    assert len(received) == 4 and {r.status for r in outbox(sqlite_factory)} == {"sent"}
    first, envelope = received[0], server.mailbox.envelopes[0]
    assert message_id_of(first) == row.message_id
    assert first["To"] == INTERNATIONAL[case]["to"]  # the UTF-8 header arrived as it was
    assert envelope.rcpt_tos == [recipient] and "SMTPUTF8" in envelope.mail_options
    assert "SMTPUTF8" not in server.mailbox.envelopes[1].mail_options  # only where needed


@pytest.mark.parametrize("case", INTERNATIONAL)
def test_without_smtputf8_at_the_server_the_row_fails_with_the_reason_and_others_go(
    case, facts, sqlite_factory, smtp
):
    row, _ = international_row(facts, sqlite_factory, case)
    assert asyncio.run(Dispatcher(sqlite_factory, SmtpTransport(smtp.options)).run_once()) == 3
    rows = outbox(sqlite_factory)
    assert [r.status for r in rows] == ["failed", "sent", "sent", "sent"]
    assert "does not offer SMTPUTF8" in rows[0].last_error
    assert row.message_id not in {message_id_of(m) for m in smtp.mailbox.wait_for(3)}


def test_a_result_the_database_could_not_take_is_recorded_next_round_not_sent_again(
    facts, sqlite_factory
):
    """The database refuses the write for a while right after the "250" (another
    writer holds SQLite's lock longer than the 5 s busy timeout): that round fails, and
    the next one records the delivery before anything else, under the same lease."""
    slow = SmtpServer(reply_delay=0.5)
    slow.start()
    [(row, other)] = submit(facts, sqlite_factory, 1)
    change_row(sqlite_factory, other.id, status="sent")
    database = sqlite_factory.kw["bind"].url.database

    def hold_the_lock() -> None:
        slow.mailbox.stored.wait(20)
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        time.sleep(6)
        blocker.execute("ROLLBACK")
        blocker.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    dispatcher = Dispatcher(sqlite_factory, SmtpTransport(slow.options))
    problems = []

    def sent() -> bool:
        problems.append(asyncio.run(dispatcher.not_ready()))
        return outbox(sqlite_factory)[0].status == "sent"

    try:
        took = asyncio.run(run_until(dispatcher, sent, timeout=20, linger=1))
    finally:
        holder.join()
        slow.stop()
    assert "the last round failed: OperationalError" in problems  # readiness said so
    assert 5 < took < 10 and len(slow.mailbox.messages) == 1
    first = outbox(sqlite_factory)[0]
    assert first.attempts == 1 and first.claimed_until is None and not dispatcher.unrecorded


# -- RFC 5321 timeouts ---------------------------------------------------------------


@pytest.mark.slow
def test_a_server_that_answers_250_after_40_seconds_gets_one_copy(
    facts, sqlite_factory, monkeypatch
):
    """The defaults (RFC 5321: 10 minutes for the reply to the end of the message),
    read from the settings; the retry period is short, so a second copy would come."""
    slow = SmtpServer(reply_delay=40)
    slow.start()
    for name, value in slow.env.items():
        monkeypatch.setenv(name, value)
    try:
        [(row, other)] = submit(facts, sqlite_factory, 1)
        change_row(sqlite_factory, other.id, status="sent")  # one e-mail: 40 s, not 80
        dispatcher = Dispatcher(sqlite_factory, first_retry=timedelta(seconds=1))
        assert dispatcher.transport.timeouts == SmtpTimeouts()

        def sent() -> bool:
            return outbox(sqlite_factory)[0].status == "sent"

        # then three retry periods more: a second copy would arrive now
        took = asyncio.run(run_until(dispatcher, sent, timeout=60, poll=0.2, linger=3))
        ready = asyncio.run(dispatcher.not_ready())
    finally:
        slow.stop()
    assert 40 <= took < 45, took
    assert len(slow.mailbox.messages) == 1 and message_id_of(slow.mailbox.messages[0]) == (
        row.message_id
    )
    first = outbox(sqlite_factory)[0]
    assert first.status == "sent" and first.attempts == 1 and ready is None


def test_the_timeouts_default_to_rfc_5321_and_are_settings():
    rfc = SmtpTimeouts(
        greeting=300, mail=300, rcpt=300, data_start=120, data_block=180, data_end=600
    )
    assert load({"SMTP_HOST": "mail.example.org"}).smtp.timeouts == rfc
    changed = load({"SMTP_HOST": "mail.example.org", "SMTP_TIMEOUT_DATA_END": "900"})
    assert changed.smtp.timeouts.data_end == 900
    with pytest.raises(SettingsError, match="SMTP_TIMEOUT_RCPT must be at least 1"):
        load({"SMTP_HOST": "mail.example.org", "SMTP_TIMEOUT_RCPT": "0"})


def test_the_lease_outlasts_the_longest_conversation(sqlite_factory, monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    dispatcher = Dispatcher(sqlite_factory, transport_from_settings())
    longest = timedelta(seconds=SmtpTimeouts().conversation())
    assert longest == timedelta(minutes=35)
    assert dispatcher.lease == longest + LEASE_MARGIN


# -- one worker per row ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request, tmp_path):
    """One database for two dispatchers: SQLite, or the machine's PostgreSQL."""
    with new_database(request.param, tmp_path, "dispatch") as factory:
        yield factory


def test_two_dispatchers_on_one_database_deliver_each_mail_once(shared_database, facts):
    slow = SmtpServer(reply_delay=0.5)
    slow.start()
    start = threading.Barrier(2)
    counts: list[int] = []

    def dispatcher() -> None:
        worker = Dispatcher(shared_database, SmtpTransport(slow.options))
        start.wait()
        counts.append(asyncio.run(worker.run_once()))

    try:
        submit(facts, shared_database, 3)
        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        took = time.monotonic() - started
        time.sleep(0.5)
    finally:
        slow.stop()
    received = [message_id_of(m) for m in slow.mailbox.messages]
    assert len(received) == 6 and len(set(received)) == 6
    assert sorted(counts) != [0, 6] and sum(counts) == 6  # both worked, on different rows
    rows = outbox(shared_database)
    assert all(r.status == "sent" and r.attempts == 1 and r.claimed_until is None for r in rows)
    assert took < 6 * 0.5 + 2  # in parallel, not one after the other


def test_on_postgresql_a_dispatcher_passes_over_a_row_another_is_claiming(tmp_path, facts):
    """SKIP LOCKED: while another dispatcher's transaction holds the first due row, this
    one takes the next at once instead of waiting for that transaction to end."""
    with new_database("postgresql", tmp_path, "skip") as factory:
        [(first, second)] = submit(facts, factory, 1)
        worker = Dispatcher(factory, SmtpTransport({"hostname": "127.0.0.1", "port": 1}))
        with ThreadPoolExecutor(max_workers=1) as pool, factory.begin() as other:
            # the other dispatcher, mid-claim
            other.execute(select(OutboxRow).where(OutboxRow.id == first.id).with_for_update())
            started = time.monotonic()
            claiming = pool.submit(worker._claim_next, 0)
            with contextlib.suppress(TimeoutError):
                claiming.result(timeout=5)
            took = time.monotonic() - started
        claimed = claiming.result()
        assert claimed.id == second.id
        assert took < 2  # without SKIP LOCKED: blocked until the other transaction ends
        assert worker._claim_next(0).id == first.id  # free again: the next claim takes it
        assert worker._claim_next(0) is None  # both leased


def test_a_dispatcher_killed_while_waiting_for_250_gives_one_duplicate_after_the_lease(
    facts, sqlite_factory
):
    """The window docs/handoff.md states: the server stored the message, the row is not
    marked sent. The next dispatcher keeps off the row for the lease, then sends it
    again with the same Message-ID."""
    slow = SmtpServer(reply_delay=8)
    slow.start()
    [(row, other)] = submit(facts, sqlite_factory, 1)
    change_row(sqlite_factory, other.id, status="sent")
    env = {
        **os.environ,
        **slow.env,
        "DATABASE_URL": str(sqlite_factory.kw["bind"].url),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command_line = [sys.executable, "-m", "bot", "dispatch"]
    second = None
    try:
        first = subprocess.Popen(command_line, env=env, cwd=PROJECT_ROOT)
        assert slow.mailbox.stored.wait(20)
        first.send_signal(signal.SIGKILL)
        first.wait()
        slow.mailbox.reply_delay = 0
        second = subprocess.Popen(command_line, env=env, cwd=PROJECT_ROOT)
        time.sleep(5)  # started and polling: the lease keeps it off the row
        assert len(slow.mailbox.messages) == 1
        assert outbox(sqlite_factory)[0].claimed_until > store.utcnow() + timedelta(minutes=30)
        change_row(sqlite_factory, row.id, claimed_until=store.utcnow())  # the lease ran out
        received = slow.mailbox.wait_for(2)
        time.sleep(1)
    finally:
        if second:
            second.terminate()
            second.wait()
        slow.stop()
    assert len(received) == 2 and {message_id_of(m) for m in received} == {row.message_id}
    assert outbox(sqlite_factory)[0].status == "sent"


def test_the_lease_column_comes_and_goes_with_its_migration_keeping_the_rows(
    facts, sqlite_factory, smtp
):
    submit(facts, sqlite_factory, 1)
    engine = sqlite_factory.kw["bind"]
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0005")
    assert "claimed_until" not in {c["name"] for c in inspect(engine).get_columns("outbox")}
    db.migrate(engine)  # as the dispatcher does when it starts
    rows = outbox(sqlite_factory)
    assert len(rows) == 2 and all(r.claimed_until is None for r in rows)
    assert asyncio.run(Dispatcher(sqlite_factory, SmtpTransport(smtp.options)).run_once()) == 2
