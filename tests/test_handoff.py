"""Enquiries handed over by e-mail, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email import message_from_string, policy

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select, update

from actions.enquiry import transcript
from bot import settings
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


# --- what the contact reads: the visitor's words, their clock, the channel's name ------

WINTER = datetime(2025, 12, 3, 18, 4, 5, tzinfo=timezone.utc)  # 19:04:05 CET in Dresden
SUMMER = datetime(2025, 7, 1, 9, 30, tzinfo=timezone.utc)  # 11:30 CEST
CONSENT_BUTTONS = [
    {"title": "Yes, I agree", "payload": "/affirm"},
    {"title": "Leipzig", "payload": '/inform{"hub":"leipzig"}'},
]


def user_said(text: str, at: datetime) -> dict:
    """A user event as rasa_sdk hands it to an action; a click's text is the payload."""
    return {
        "event": "user",
        "timestamp": at.timestamp(),
        "text": text,
        "parse_data": {"intent": {"name": "inform", "confidence": 1.0}, "entities": []},
        "input_channel": "socketio",
        "message_id": f"m{at.timestamp()}",
    }


def bot_said(text: str, at: datetime, buttons: list | None = None) -> dict:
    return {
        "event": "bot",
        "timestamp": at.timestamp(),
        "text": text,
        "data": {"elements": None, "quick_replies": None, "buttons": buttons, "custom": None},
        "metadata": {"utter_action": "utter_ask"},
    }


def heard(*events: dict) -> list[dict]:
    """The transcript the submit action stores for a widget conversation of ``events``."""
    listen = {"event": "action", "name": "action_listen", "timestamp": WINTER.timestamp()}
    tracker = Tracker("socketio:s1", {}, {}, [listen, *events], False, None, {}, "action_listen")
    return transcript(tracker)


def delivered_to_contact(smtp) -> tuple[str, str]:
    """The plain and HTML parts of the contact e-mail the SMTP server received."""
    to_contact = smtp.mailbox.wait_for(2)[0]
    return to_contact.get_body(("plain",)).get_content(), to_contact.get_body(
        ("html",)
    ).get_content()


@pytest.mark.parametrize(
    "language, clicked, channel",
    [
        ("de", "anfragende Person: Yes, I agree", "über Website-Chat"),
        ("en", "visitor: Yes, I agree", "via website chat"),
    ],
)
def test_the_contact_reads_button_titles_berlin_times_and_the_channels_name(
    facts, sqlite_factory, smtp, monkeypatch, language, clicked, channel
):
    monkeypatch.setenv("CONTACT_MAIL_LANGUAGE", language)
    monkeypatch.setattr(store, "utcnow", lambda: WINTER.replace(tzinfo=None) + timedelta(minutes=2))
    lines = heard(
        user_said("Who is the contact for Leipzig?", SUMMER),
        bot_said("Dr Eric Weber. Shall I pass an enquiry on?", WINTER, CONSENT_BUTTONS),
        user_said('/inform{"hub":"leipzig"}', WINTER),
        bot_said("What is your name?", WINTER),  # no buttons: the last ones still count
        user_said("/affirm", WINTER),
    )
    new = enquiry(facts, Need(topic="energy"), channel="socketio", transcript=lines)
    store.submit(new, sqlite_factory)
    dispatch(sqlite_factory, smtp)
    plain, html = delivered_to_contact(smtp)
    for part in (plain, html):
        assert "/affirm" not in part and '{"hub"' not in part and "&quot;hub" not in part
        assert "Leipzig" in part and "Yes, I agree" in part
        assert "2025-12-03 19:06 CET" in part  # received and consent, in Berlin's winter
        assert part.count("2025-12-03 19:04:05 CET") == 4  # each winter line
        assert "2025-07-01 11:30:00 CEST" in part  # summer time
        assert "UTC" not in part and "18:0" not in part
        assert channel in part and "socketio" not in part
    assert f"[2025-12-03 19:04:05 CET] {clicked}" in plain


def test_a_payload_the_visitor_typed_stays_as_typed(facts, sqlite_factory, smtp):
    dresden = [{"title": "Dresden", "payload": '/inform{"hub":"dresden"}'}]
    lines = heard(
        user_said("/affirm", WINTER),  # no button offered yet
        bot_said("Shall I pass it on?", WINTER, CONSENT_BUTTONS),
        bot_said("Which hub?", WINTER, dresden),  # the latest buttons: only these count
        user_said("/affirm", WINTER),
        user_said('/inform{"hub":"leipzig"}', WINTER),
        user_said('/inform{"hub":"dresden"}', WINTER),
    )
    assert [line["text"] for line in lines if line["who"] == "visitor"] == [
        "/affirm",
        "/affirm",
        '/inform{"hub":"leipzig"}',
        "Dresden",
    ]
    assert lines[0]["at"] == "2025-12-03T18:04:05+00:00"
    store.submit(enquiry(facts, Need(topic="energy"), transcript=lines), sqlite_factory)
    dispatch(sqlite_factory, smtp)
    plain, _ = delivered_to_contact(smtp)
    assert "anfragende Person: /affirm" in plain
    assert 'anfragende Person: /inform{"hub":"leipzig"}' in plain
    assert "anfragende Person: Dresden" in plain


@pytest.mark.parametrize(
    "zone, shown",
    [
        ("Europe/Berlin", ["2025-07-01 11:30:00 CEST", "2025-12-03 19:04:05 CET"]),
        ("UTC", ["2025-07-01 09:30:00 UTC", "2025-12-03 18:04:05 UTC"]),
    ],
)
def test_enquiries_stored_with_naive_utc_times_show_them_in_the_mail_time_zone(
    facts, sqlite_factory, smtp, monkeypatch, zone, shown
):
    monkeypatch.setenv("MAIL_TIMEZONE", zone)
    old_form = [
        {"who": "visitor", "text": "Wer hilft bei Energie?", "at": "2025-07-01 09:30:00"},
        {"who": "assistant", "text": "Dr Eric Weber ...", "at": "2025-12-03 18:04:05"},
    ]
    store.submit(enquiry(facts, Need(topic="energy"), transcript=old_form), sqlite_factory)
    dispatch(sqlite_factory, smtp)
    plain, html = delivered_to_contact(smtp)
    assert f"[{shown[0]}] anfragende Person: Wer hilft bei Energie?" in plain
    assert f"[{shown[1]}] Assistent: Dr Eric Weber" in plain
    assert all(time in html for time in shown)


@pytest.mark.parametrize(
    "channel, german, english",
    [
        ("telegram", "Telegram", "Telegram"),
        ("facebook", "Facebook Messenger", "Facebook Messenger"),
        ("rest", "REST-API", "REST API"),
        ("whatsapp", "WhatsApp", "WhatsApp"),
        ("unknown", "unbekannt", "unknown"),
        ("carrier-pigeon", "unbekannt", "unknown"),
    ],
)
def test_each_channel_is_named_in_the_mails_language(
    facts, sqlite_factory, monkeypatch, channel, german, english
):
    for language, over, name in (("de", "über", german), ("en", "via", english)):
        monkeypatch.setenv("CONTACT_MAIL_LANGUAGE", language)
        settings.reset()
        store.submit(enquiry(facts, Need(topic="energy"), channel=channel), sqlite_factory)
        contact_mail = message_from_string(outbox(sqlite_factory)[-2].raw, policy=policy.default)
        lines = contact_mail.get_body(("plain",)).get_content().splitlines()
        assert any(line.endswith(f", {over} {name}") for line in lines), lines[:10]


@pytest.mark.parametrize(
    "language, names_it",
    [
        ("en", 'tell the assistant "delete my data", or write to datenschutz@hub.example.org'),
        ("de", "„meine Daten löschen“ oder an datenschutz@hub.example.org"),
    ],
)
def test_a_reply_to_the_acknowledgement_reaches_the_privacy_contact(
    facts, sqlite_factory, smtp, monkeypatch, language, names_it
):
    monkeypatch.setenv("PRIVACY_CONTACT_EMAIL", "datenschutz@hub.example.org")
    store.submit(enquiry(facts, Need(topic="energy"), language=language), sqlite_factory)
    dispatch(sqlite_factory, smtp)
    to_contact, acknowledgement = smtp.mailbox.wait_for(2)
    (reply_to,) = acknowledgement["Reply-To"].addresses
    assert reply_to.addr_spec == "datenschutz@hub.example.org"
    assert "assistant@hub.example.org" in acknowledgement["From"]
    assert to_contact["Reply-To"] == "Anna Schmidt <anna@example.com>"  # the visitor, still
    text = " ".join(acknowledgement.get_content().split())
    assert names_it in text
    assert "reply to this e-mail reaches it too" in text or (
        "Antwort auf diese E-Mail erreicht diese Adresse" in text
    )
