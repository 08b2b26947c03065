"""Hostile input on its way from the form to the mailboxes (issue 15, finding 4):
visitors' e-mail addresses (bot/enquiries/addresses.py), any text in the rendered
e-mails (bot/handoff/render.py), and the store keeping every confirmed enquiry
(bot/enquiries/store.py), even one whose e-mail cannot be rendered."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import string
import unicodedata
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import settings as bot_settings
from bot.enquiries import store
from bot.enquiries.addresses import Address, Reason, Refusal, checked_address
from bot.enquiries.models import EnquiryRow, OutboxRow
from bot.enquiries.text import storable
from bot.handoff import render
from bot.handoff.dispatcher import Dispatcher, SmtpTransport
from bot.knowledge import document
from tests.conftest import KB_FILE
from tests.support.enquiries import new_enquiry
from tests.support.smtp import SmtpServer

SENDER = "Dresden/Leipzig hub assistant <assistant@hub.example.org>"
CONTACT = document.read(KB_FILE).contact("sebastian_lindner")


@pytest.mark.parametrize(
    "typed, stored, shown, smtputf8",
    [
        ("anna@example.com", "anna@example.com", "anna@example.com", False),
        (" <Anna.B+hub@Sub.Example.ORG>. ", "Anna.B+hub@sub.example.org", None, False),
        ("jana@müller.de", "jana@xn--mller-kva.de", "jana@müller.de", False),
        ("jana@xn--mller-kva.de", "jana@xn--mller-kva.de", "jana@müller.de", False),
        ("jörg@müller.de", "jörg@xn--mller-kva.de", "jörg@müller.de", True),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v", "用户@例子.广告", True),
        ("erik@brändtner-werke.example", "erik@xn--brndtner-werke-6hb.example", None, False),
    ],
)
def test_addresses_are_accepted_with_the_domain_in_idna(typed, stored, shown, smtputf8):
    address = checked_address(typed)
    assert address == Address(stored, shown or address.shown, smtputf8)
    assert address.stored.rpartition("@")[2].isascii()
    assert checked_address(address.shown) == address  # the slot is checked again on submit


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("", Reason.SYNTAX),
        ("anna(at)example.org", Reason.SYNTAX),
        ("a@b.c,d@e.fg", Reason.SYNTAX),
        ("jana\x00@example.org", Reason.CONTROL),
        ("jana@example.org\x00", Reason.CONTROL),
        ("x@y.z\r\nBcc: v@e.com", Reason.CONTROL),
        ("jana\u202e@example.org", Reason.CONTROL),  # a bidi override hides what it is
        ("jana@example.org\ud800", Reason.CONTROL),
        ("jana@[192.168.0.1]", Reason.DOMAIN_LITERAL),
        ("jana@[IPv6:::1]", Reason.DOMAIN_LITERAL),
        ("jana@", Reason.DOMAIN),
        ("jana@localhost", Reason.DOMAIN),
        ("jana@laptop.local", Reason.DOMAIN),
        ("jana@1.2.3.4", Reason.DOMAIN),
        ("jana@-müller.de", Reason.DOMAIN),
        ("@example.org", Reason.LOCAL_PART),
        ("jana..m@example.org", Reason.LOCAL_PART),
        ('"jana m"@example.org', Reason.LOCAL_PART),
        ("Jana <jana@example.org>", Reason.LOCAL_PART),
        ("j" * 65 + "@example.org", Reason.TOO_LONG),
        ("jana@" + "m" * 250 + ".de", Reason.TOO_LONG),
        # each half is fine, the whole only too long in its IDNA form (> 254)
        ("j" * 64 + "@" + ".".join(["äöüßéñçåäöüßéñçåäöüßéñç"] * 4) + ".de", Reason.TOO_LONG),
    ],
)
def test_addresses_are_refused_with_the_reason(typed, reason):
    assert checked_address(typed) == Refusal(reason)


def test_a_huge_input_is_refused_at_once():
    assert checked_address("a" * 10_000_000 + "@example.org") == Refusal(Reason.TOO_LONG)


# --- any text, any address: the renderer never fails -----------------------------------

# every code point, lone surrogates (JSON "\ud800") and control characters included
ANY_CHARACTER = st.characters(exclude_categories=())
HOSTILE = st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\r\n", "\n.\n", "\u2028", "=?utf-8?q?x?=", '"', "\\", "<>@,;:"]
)
ANY_TEXT = st.lists(st.one_of(st.text(ANY_CHARACTER, max_size=30), HOSTILE), max_size=8).map(
    "".join
)
ATOM = st.text(
    string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=12
)
UNICODE_ATOM = st.text(
    st.characters(categories=["L", "N"]) | st.sampled_from("äöüßéçñ"), min_size=1, max_size=10
)
LABEL = st.text(string.ascii_lowercase + string.digits + "äöüßéñ", min_size=1, max_size=15)
DOMAIN = st.builds(
    lambda labels, top: ".".join([*labels, top]),
    st.lists(
        LABEL | st.sampled_from(["müller", "例子", "пример", "ελληνικά"]), min_size=1, max_size=3
    ),
    st.sampled_from(["de", "org", "example", "com", "广告", "xn--p1ai"]),
)
LOCAL_PART = st.lists(ATOM | UNICODE_ATOM, min_size=1, max_size=3).map(".".join)


@st.composite
def valid_addresses(draw) -> Address:
    """ASCII, IDN domains and UTF-8 local parts, as the form would accept them."""
    address = checked_address(f"{draw(LOCAL_PART)}@{draw(DOMAIN)}")
    assume(isinstance(address, Address))
    return address


TRANSCRIPT = st.lists(
    st.fixed_dictionaries(
        {
            "who": st.sampled_from(["visitor", "assistant"]) | ANY_TEXT,
            "text": ANY_TEXT,
            "at": st.just("2026-11-27 10:00:00") | ANY_TEXT,
        }
    ),
    max_size=4,
)


def enquiry_row(name, address: str, organisation, text, transcript, language="en"):
    now = datetime(2026, 11, 27, 10, 0)
    return EnquiryRow(
        reference="HUB-2026-000001",
        created_at=now,
        channel="rest",
        conversation_id="rest:1",
        language=language,
        visitor_name=name,
        visitor_email=address,
        visitor_organisation=organisation,
        text=text,
        hub="dresden",
        contact_key="sebastian_lindner",
        contact_name="Dr Sebastian Lindner",
        contact_email="lindner@example.org",
        routing_reason="Sensorik ist ein Schwerpunkt",
        topic="Sensorik",
        consent_at=now,
        consent_notice_version="2026-11",
        transcript=json.dumps(transcript, ensure_ascii=False),
    )


def parsed(raw: str) -> email.message.EmailMessage:
    return email.message_from_string(raw, policy=email.policy.default)


def unspaced(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=ANY_TEXT,
    address=valid_addresses(),
    organisation=ANY_TEXT,
    text=ANY_TEXT,
    transcript=TRANSCRIPT,
    language=st.sampled_from(["en", "de"]),
)
def test_any_text_and_any_valid_address_render_to_parseable_mails(
    name, address, organisation, text, transcript, language
):
    contact = CONTACT
    enquiry = enquiry_row(name, address.stored, organisation, text, transcript, language)
    for build in (render.contact_message, render.acknowledgement):
        raw = render.as_text(build(enquiry, contact, SENDER))
        raw.encode("utf-8")  # what the dispatcher sends
        assert raw.isascii() != address.smtputf8  # only a UTF-8 local part needs SMTPUTF8
        message = parsed(raw)
        assert not message.defects
        visitor = message["Reply-To"] if build is render.contact_message else message["To"]
        (mailbox,) = visitor.addresses
        assert mailbox.addr_spec == address.stored
        if "=?" not in name:  # a name that looks encoded is decoded by the reader
            # (Python 3.10's parser keeps the space that folds two encoded words apart,
            # which RFC 2047 6.2 says to drop)
            assert unspaced(mailbox.display_name) == unspaced(render.header_text(name))
        plain = (message.get_body(("plain",)) or message).get_content()
        assert storable(text).replace("\r", "") in plain.replace("\r", "")
    contact_mail = parsed(render.as_text(render.contact_message(enquiry, contact, SENDER)))
    assert contact_mail["To"].addresses[0].addr_spec == "lindner@example.org"
    assert contact_mail.get_body(("html",)) is not None


@given(ANY_TEXT)
def test_storable_text_encodes_and_keeps_only_tabs_and_line_breaks(text):
    cleaned = storable(text)
    cleaned.encode("utf-8")
    assert not [c for c in cleaned if unicodedata.category(c) == "Cc" and c not in "\t\n"]
    assert len(cleaned) <= len(text) and storable(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_any_text_is_checked_without_an_exception(text):
    address = checked_address(text)
    assert isinstance(address, (Address, Refusal))
    if isinstance(address, Address):
        assert checked_address(address.shown) == address
        assert address.stored.rpartition("@")[2].isascii()


def test_a_lone_surrogate_and_an_idn_address_used_to_break_rendering(facts):
    """Finding 4 of issue 15: UnicodeEncodeError for jana@müller.de and for a lone
    surrogate in the name; the visitor got an empty reply and nothing was stored."""
    contact = facts.contact("sebastian_lindner")
    address = checked_address("jana@müller.de")
    enquiry = enquiry_row("Jana \ud800 Müller", address.stored, "-", "Räume?", [])
    contact_mail = parsed(render.as_text(render.contact_message(enquiry, contact, SENDER)))
    assert str(contact_mail["Reply-To"]) == "Jana \ufffd Müller <jana@xn--mller-kva.de>"
    jorg = enquiry_row("Jörg", checked_address("jörg@müller.de").stored, "-", "?", [])
    raw = render.as_text(render.acknowledgement(jorg, contact, SENDER))
    assert "To: Jörg <jörg@xn--mller-kva.de>" in raw  # UTF-8 headers, for SMTPUTF8


def test_a_message_for_an_ascii_address_stays_ascii_with_any_name(facts):
    contact = facts.contact("sebastian_lindner")
    enquiry = enquiry_row("Jörg 例 Müller", "jm@example.org", "Straße AG", "Grüße", [])
    raw = render.as_text(render.contact_message(enquiry, contact, SENDER))
    assert raw.isascii()
    assert str(parsed(raw)["Reply-To"]) == "Jörg 例 Müller <jm@example.org>"


# --- never an enquiry lost after the visitor confirmed it -------------------------------


def outbox(factory) -> list[OutboxRow]:
    with factory() as session:
        return list(session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars())


def hostile_enquiry(facts, email: str) -> store.NewEnquiry:
    return replace(
        new_enquiry(facts, "rest:jana"),
        visitor_name="Jana \ud800 Müller",
        visitor_email=email,
        visitor_organisation="Müller\x00 GmbH",
        text="Räume \udfff für fünf?",
        transcript=[{"who": "visitor", "text": "Hallo \ud83d", "at": "2026-11-27 10:00:00"}],
    )


@pytest.mark.parametrize("typed", ["jana@müller.de", "jörg@müller.de"])
def test_idn_addresses_and_lone_surrogates_are_stored_and_delivered(facts, sqlite_factory, typed):
    address = checked_address(typed)
    stored = store.submit(hostile_enquiry(facts, address.stored), sqlite_factory)
    (enquiry,) = store.enquiries(sqlite_factory)
    assert enquiry.visitor_name == "Jana \ufffd Müller" and enquiry.visitor_email == address.stored
    assert "\ufffd" in enquiry.text and enquiry.visitor_organisation == "Müller  GmbH"
    assert [r.status for r in outbox(sqlite_factory)] == ["pending", "pending"]
    server = SmtpServer(smtputf8=True)
    server.start()
    try:
        dispatcher = Dispatcher(sqlite_factory, SmtpTransport(server.options))
        assert asyncio.run(dispatcher.run_once()) == 2
        to_contact, to_visitor = server.mailbox.wait_for(2)
    finally:
        server.stop()
    assert stored.reference in to_contact["Subject"]
    assert to_contact["Reply-To"].addresses[0].addr_spec == address.stored
    assert to_visitor["To"].addresses[0].addr_spec == address.stored
    contact_envelope, visitor_envelope = server.mailbox.envelopes
    assert visitor_envelope.rcpt_tos == [address.stored]
    for envelope in (contact_envelope, visitor_envelope):
        assert ("SMTPUTF8" in envelope.mail_options) == address.smtputf8


@pytest.mark.parametrize("failing", [("acknowledgement",), ("contact", "acknowledgement")])
def test_a_mail_that_cannot_be_rendered_fails_alone_and_the_enquiry_is_kept(
    facts, sqlite_factory, monkeypatch, capsys, failing
):
    def broken(*_args):
        raise RuntimeError("template data/mail/x.txt is broken")

    for kind in failing:
        monkeypatch.setattr(render, "contact_message" if kind == "contact" else kind, broken)
    stored = store.submit(new_enquiry(facts, "rest:anna"), sqlite_factory)
    (enquiry,) = store.enquiries(sqlite_factory)
    assert enquiry.reference == stored.reference and enquiry.visitor_name == "Anna Schmidt"
    rows = {row.kind: row for row in outbox(sqlite_factory)}
    for kind, row in rows.items():
        if kind in failing:
            assert row.status == "failed" and row.raw == "" and row.message_id
            assert (
                row.last_error == "not rendered: RuntimeError: template data/mail/x.txt is broken"
            )
        else:
            assert row.status == "pending" and stored.reference in row.raw
    expected = ("queued" if "contact" not in failing else "failed") + ", acknowledgement failed"
    assert store.status_of(enquiry) == expected
    assert store.resend(stored.reference, sqlite_factory) == 0  # nothing to send: stays failed

    from bot.__main__ import main

    monkeypatch.setenv("DATABASE_URL", str(sqlite_factory.kw["bind"].url))
    bot_settings.reset()
    assert main(["enquiries", "list"]) == 0
    listed = capsys.readouterr().out
    assert stored.reference in listed and expected in listed
    assert main(["enquiries", "resend", stored.reference]) == 0
    assert "the acknowledgement e-mail stays failed: not rendered: RuntimeError" in (
        capsys.readouterr().out
    )
