"""Enquiries handed over by e-mail, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import select, update

from bot.enquiries import store
from bot.enquiries.models import EnquiryRow, OutboxRow
from bot.handoff.dispatcher import Dispatcher, FileTransport, SmtpTransport
from bot.handoff.render import routing_reason
from bot.routing import Need, route
from bot.settings import PROJECT_ROOT
from tests.support.smtp import SmtpServer, smtp_of_one_test  # noqa: F401 (the fixture)


def enquiry(facts, need: Need, **overrides) -> store.NewEnquiry:
    """As the submit action builds it: topic and reason in the contacts' language."""
    decision = route(need, facts.in_language("de"))
    values = dict(
        conversation_id="conv-1",
        channel="rest",
        visitor_name="Anna Schmidt",
        visitor_email="anna@example.com",
        visitor_organisation="Sensorik GmbH",
        text="We build pressure sensors and look for a research partner.",
        contact=facts.contact(decision.contact.key),  # as the knowledge base names them
        hub=decision.hub.key,
        topic=decision.reason.subject,
        routing_reason=routing_reason(
            decision.reason.kind,
            decision.reason.subject,
            decision.hub.name,
            decision.contact.name,
            "de",
        ),
        consent_notice_version="2026-11",
        transcript=[
            {"who": "visitor", "text": "who can help with sensors?", "at": "2026-11-27 10:00"},
            {"who": "assistant", "text": "Dr Sebastian Lindner ...", "at": "2026-11-27 10:00"},
        ],
    )
    return store.NewEnquiry(**{**values, **overrides})


def dispatch(factory, smtp, **kwargs) -> int:
    dispatcher = Dispatcher(factory, SmtpTransport(smtp.options), **kwargs)
    return asyncio.run(dispatcher.run_once())


def outbox(factory) -> list[OutboxRow]:
    with factory() as session:
        return list(session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars())


def test_a_sensors_enquiry_reaches_the_dresden_contact(facts, sqlite_factory, smtp):
    stored = store.submit(enquiry(facts, Need(topic="sensors")), sqlite_factory)
    assert stored.reference.startswith("HUB-20") and stored.contact_name == "Dr Sebastian Lindner"
    assert dispatch(sqlite_factory, smtp) == 2
    to_contact, acknowledgement = smtp.mailbox.wait_for(2)
    assert to_contact["To"] == "Dr Sebastian Lindner <lindner@example.org>"
    assert to_contact["Reply-To"] == "Anna Schmidt <anna@example.com>"
    sensors_in_german = facts.in_language("de").topic("sensors").name
    assert stored.reference in to_contact["Subject"] and sensors_in_german in to_contact["Subject"]
    plain = to_contact.get_body(("plain",)).get_content()
    # the contacts read German; the visitor's own words stay as they were written
    assert plain.startswith("Guten Tag Dr Sebastian Lindner")
    assert "We build pressure sensors" in plain and "who can help with sensors?" in plain
    assert "Sensorik GmbH" in plain and "Datenschutzhinweise, Version 2026-11" in plain
    assert f"Das Thema {sensors_in_german} ist ein Schwerpunkt im Smart Systems Hub Dresden" in (
        plain
    )
    assert "anfragende Person: who can help with sensors?" in plain
    assert to_contact.get_body(("html",)) is not None
    assert acknowledgement["To"] == "Anna Schmidt <anna@example.com>"
    assert stored.reference in acknowledgement.get_content() and "+49 (0)351 56 41 270" in (
        acknowledgement.get_content()
    )
    assert "thank you for your enquiry" in acknowledgement.get_content()  # visitor wrote English


def test_a_german_visitor_gets_a_german_acknowledgement(facts, sqlite_factory, smtp):
    text = "Wir entwickeln Drucksensoren für Maschinen. Können Sie uns helfen?"
    stored = store.submit(
        enquiry(facts, Need(topic="sensors"), text=text, language="de"), sqlite_factory
    )
    dispatch(sqlite_factory, smtp)
    to_contact, acknowledgement = smtp.mailbox.wait_for(2)
    assert text in to_contact.get_body(("plain",)).get_content()
    assert stored.reference in acknowledgement["Subject"]
    assert acknowledgement["Subject"].startswith("Ihre Anfrage")
    assert text in acknowledgement.get_content() and "Dr Sebastian Lindner" in (
        acknowledgement.get_content()
    )


def test_contact_mails_can_be_configured_to_english(facts, sqlite_factory, smtp, monkeypatch):
    monkeypatch.setenv("CONTACT_MAIL_LANGUAGE", "en")
    store.submit(enquiry(facts, Need(topic="energy")), sqlite_factory)
    dispatch(sqlite_factory, smtp)
    plain = smtp.mailbox.wait_for(2)[0].get_body(("plain",)).get_content()
    assert plain.startswith("Dear Dr Eric Weber") and "visitor: who can help" in plain


def test_an_energy_start_up_reaches_the_leipzig_contact(facts, sqlite_factory, smtp):
    store.submit(
        enquiry(facts, Need(topic="energy"), text="Our energy start-up needs investors."),
        sqlite_factory,
    )
    dispatch(sqlite_factory, smtp)
    to_contact = smtp.mailbox.wait_for(2)[0]
    assert to_contact["To"] == "Dr Eric Weber <weber@example.org>"
    assert "Energie" in to_contact["Subject"]


def test_visitor_text_cannot_inject_headers_and_html_is_escaped(facts, sqlite_factory, smtp):
    store.submit(
        enquiry(
            facts,
            Need(topic="sensors"),
            visitor_name="Eve\r\nBcc: victim@example.net\r\nX-Evil: 1",
            text="<script>alert(1)</script> & <b>bold</b>",
            visitor_organisation="<img src=x onerror=alert(1)>",
        ),
        sqlite_factory,
    )
    dispatch(sqlite_factory, smtp)
    message = smtp.mailbox.wait_for(2)[0]
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in message["Reply-To"] and "Eve Bcc" in message["Reply-To"]
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(1)</script>" in message.get_body(("plain",)).get_content()


def test_mail_server_down_then_up_delivers_every_enquiry_exactly_once(facts, sqlite_factory, smtp):
    smtp.stop()
    for topic in ("sensors", "energy", "hpc"):
        store.submit(enquiry(facts, Need(topic=topic)), sqlite_factory)
    assert dispatch(sqlite_factory, smtp, first_retry=timedelta(0)) == 0
    assert all(
        r.status == "pending" and r.attempts == 1 and r.last_error for r in outbox(sqlite_factory)
    )
    smtp.start()
    smtp.mailbox.refuse = True  # up, but refusing for a while
    assert dispatch(sqlite_factory, smtp, first_retry=timedelta(0)) == 0
    smtp.mailbox.refuse = False
    assert dispatch(sqlite_factory, smtp, first_retry=timedelta(0)) == 6
    assert dispatch(sqlite_factory, smtp, first_retry=timedelta(0)) == 0
    received = smtp.mailbox.wait_for(6)
    assert len(received) == 6 and len({m["Message-ID"] for m in received}) == 6
    assert all(r.status == "sent" and r.attempts == 3 for r in outbox(sqlite_factory))


def test_retries_back_off_and_give_up_visibly_then_an_operator_resends(
    facts, sqlite_factory, smtp, monkeypatch
):
    monkeypatch.setenv("HANDOFF_GIVE_UP_HOURS", "0")
    stored = store.submit(enquiry(facts, Need(topic="sensors")), sqlite_factory)
    smtp.stop()
    dispatch(sqlite_factory, smtp)
    assert {r.status for r in outbox(sqlite_factory)} == {"failed"}
    assert store.status_of(store.enquiries(sqlite_factory)[0]) == ("failed, acknowledgement failed")
    monkeypatch.setenv("HANDOFF_GIVE_UP_HOURS", "48")
    assert store.resend(stored.reference, sqlite_factory) == 2
    smtp.start()
    assert dispatch(sqlite_factory, smtp) == 2
    assert store.status_of(store.enquiries(sqlite_factory)[0]) == "handed over"


def test_a_failed_attempt_waits_longer_each_time(facts, sqlite_factory, smtp):
    store.submit(enquiry(facts, Need(topic="sensors")), sqlite_factory)
    smtp.stop()
    delays = []
    for _ in range(3):
        with sqlite_factory.begin() as session:  # as if the wait had passed
            session.execute(update(OutboxRow).values(next_attempt_at=store.utcnow()))
        dispatch(sqlite_factory, smtp)
        delays.append(outbox(sqlite_factory)[0].next_attempt_at - store.utcnow())
        assert dispatch(sqlite_factory, smtp) == 0  # not due yet: no attempt
    assert outbox(sqlite_factory)[0].attempts == 3
    assert [round(d.total_seconds() / 15) for d in delays] == [1, 2, 4]


def test_a_dispatcher_killed_mid_send_loses_and_duplicates_nothing(
    facts, sqlite_factory, smtp, tmp_path
):
    """The killed dispatcher's lease keeps the row it was sending from the next one
    until the lease ends (then it is sent); the other rows go at once."""
    database = str(sqlite_factory.kw["bind"].url)
    for topic in ("sensors", "energy"):
        store.submit(enquiry(facts, Need(topic=topic)), sqlite_factory)
    env = {**os.environ, **smtp.env, "DATABASE_URL": database, "PYTHONPATH": str(PROJECT_ROOT)}
    smtp.mailbox.stall.set()  # the first transaction hangs at RCPT TO
    first = subprocess.Popen([sys.executable, "-m", "bot", "dispatch"], env=env, cwd=PROJECT_ROOT)
    time.sleep(3)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert smtp.mailbox.messages == []
    smtp.mailbox.stall.clear()
    second = subprocess.Popen([sys.executable, "-m", "bot", "dispatch"], env=env, cwd=PROJECT_ROOT)
    try:
        assert len(smtp.mailbox.wait_for(3)) == 3
        time.sleep(2)  # the leased row would arrive now
        assert len(smtp.mailbox.messages) == 3
        held = [r for r in outbox(sqlite_factory) if r.status == "pending"]
        assert len(held) == 1 and held[0].claimed_until > store.utcnow()
        with sqlite_factory.begin() as session:  # as if the lease had run out
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == held[0].id)
                .values(claimed_until=store.utcnow())
            )
        received = smtp.mailbox.wait_for(4)
        time.sleep(2)  # a duplicate would arrive now
    finally:
        second.terminate()
        second.wait()
    assert len(smtp.mailbox.messages) == 4
    assert len({m["Message-ID"] for m in received}) == 4
    assert {r.status for r in outbox(sqlite_factory)} == {"sent"}


def test_without_smtp_messages_are_written_as_eml_files(facts, sqlite_factory, tmp_path):
    stored = store.submit(enquiry(facts, Need(topic="energy")), sqlite_factory)
    dispatcher = Dispatcher(sqlite_factory, FileTransport(tmp_path / "outbox"))
    assert asyncio.run(dispatcher.run_once()) == 2
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert any(
        stored.reference in f.read_text() and "weber@example.org" in f.read_text() for f in files
    )


def test_erasure_and_retention_remove_enquiries_transcripts_and_mails(facts, sqlite_factory):
    store.submit(enquiry(facts, Need(topic="energy"), conversation_id="visitor-a"), sqlite_factory)
    store.submit(enquiry(facts, Need(topic="energy"), conversation_id="visitor-b"), sqlite_factory)
    assert store.delete_conversation_data("visitor-a", sqlite_factory) == 1
    assert [e.conversation_id for e in store.enquiries(sqlite_factory)] == ["visitor-b"]
    assert len(outbox(sqlite_factory)) == 2
    with sqlite_factory.begin() as session:
        session.execute(update(EnquiryRow).values(created_at=store.utcnow() - timedelta(days=200)))
    assert store.purge(180, sqlite_factory) == 1
    assert store.enquiries(sqlite_factory) == [] and outbox(sqlite_factory) == []


def test_export_gives_everything_stored_about_one_enquiry(facts, sqlite_factory):
    stored = store.submit(enquiry(facts, Need(topic="energy")), sqlite_factory)
    exported = store.export(store.enquiries(sqlite_factory, stored.reference)[0])
    assert exported["reference"] == stored.reference
    assert exported["transcript"][0]["text"] == "who can help with sensors?"
    assert [m["kind"] for m in exported["emails"]] == ["contact", "acknowledgement"]
    json.dumps(exported)
