"""Validation of the enquiry form and its submission, as the visitor meets them."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.context
from actions.enquiry import REFUSED_EMAIL, ActionSubmitEnquiry, ValidateEnquiryForm
from bot import settings
from bot.enquiries import store
from bot.enquiries.addresses import Reason
from bot.handoff import render

form = ValidateEnquiryForm()


def validate(slot: str, value, language: str = "en", said_with_values: bool = False):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("test", {"language": language}, {}, [], False, None, {}, "action_listen")
    result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, tracker, {}))
    if said_with_values:
        return result[slot], dispatcher.messages
    return result[slot], [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("anna@example.com", "anna@example.com"),
        (" <anna.b+hub@sub.example.org>. ", "anna.b+hub@sub.example.org"),
        # internationalised: the summary shows it as typed, the store gets the IDNA form
        ("jana@müller.de", "jana@müller.de"),
        ("jörg@müller.de", "jörg@müller.de"),
    ],
)
def test_email_addresses_are_accepted_and_cleaned(typed, kept):
    assert validate("visitor_email", typed) == (kept, [])


@pytest.mark.parametrize(
    "typed, response",
    [
        ("anna", "utter_invalid_email"),
        ("anna at example.com", "utter_invalid_email"),
        ("a@b.c,d@e.fg", "utter_invalid_email"),
        ("anna@", "utter_invalid_email_domain"),
        ("a@b", "utter_invalid_email_domain"),
        ("anna@laptop.local", "utter_invalid_email_domain"),
        ("x@y.z\r\nBcc: v@e.com", "utter_invalid_email_control"),
        ("jana\x00@example.org", "utter_invalid_email_control"),
        ("jana@[192.168.0.1]", "utter_invalid_email_domain_literal"),
        ("jana schmidt@example.org", "utter_invalid_email_local_part"),
        ("j" * 65 + "@example.org", "utter_invalid_email_too_long"),
    ],
)
def test_bad_email_addresses_are_asked_again_with_the_reason(typed, response):
    assert validate("visitor_email", typed) == (None, [response])


def test_every_refusal_has_its_response_in_both_languages():
    from tests.support import domain

    responses = domain.merged()["responses"]
    assert set(REFUSED_EMAIL) == set(Reason)
    for name in REFUSED_EMAIL.values():
        assert [bool(v.get("condition")) for v in responses[name]] == [False, True], name


def test_the_reason_quotes_the_address_without_its_control_characters():
    for language in ("en", "de"):
        _, [said] = validate("visitor_email", "jana\x00@example.org\ud800", language, True)
        assert said["response"] == "utter_invalid_email_control"
        assert said["value"] == "jana @example.org\ufffd"


def test_names_organisations_and_enquiries_lose_what_cannot_be_stored():
    """A lone surrogate (JSON can carry "\\ud800") or a NUL would make storing or
    rendering fail; they become U+FFFD and a space."""
    assert validate("visitor_name", "Jana \ud800 M\x00üller") == ("Jana \ufffd M üller", [])
    assert validate("visitor_organisation", "Müller\ud83d GmbH") == ("Müller\ufffd GmbH", [])
    assert validate("enquiry_text", "Räume\x00 bitte \udfff\r\n!") == ("Räume  bitte \ufffd\n!", [])


def test_names_are_single_line_and_questions_are_not_names():
    assert validate("visitor_name", "  Anna\n  Schmidt ") == ("Anna Schmidt", [])
    assert validate("visitor_name", "what is spinlab?") == (None, ["utter_invalid_name"])
    assert validate("visitor_name", "12345") == (None, ["utter_invalid_name"])


def test_no_organisation_is_a_valid_answer():
    assert validate("visitor_organisation", "None.") == ("-", [])
    assert validate("visitor_organisation", "Sensorik GmbH") == ("Sensorik GmbH", [])


def test_a_long_enquiry_is_cut_at_the_limit_and_the_visitor_told():
    value, said = validate("enquiry_text", "x" * 10_000)
    assert len(value) == settings.ENQUIRY_MAX_CHARS and said == ["utter_enquiry_truncated"]
    assert validate("enquiry_text", "  ?! ") == (None, ["utter_enquiry_empty"])
    _, [english] = validate("enquiry_text", "x" * 10_000, "en", said_with_values=True)
    _, [german] = validate("enquiry_text", "x" * 10_000, "de", said_with_values=True)
    assert english["limit"] == "5,000" and german["limit"] == "5.000"


# --- the submission ------------------------------------------------------------------


@pytest.fixture
def submitting(loaded_kb, sqlite_factory, monkeypatch):
    """The submit action on the knowledge base and enquiry store of one SQLite file."""
    monkeypatch.setattr(actions.context, "knowledge_base", loaded_kb)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_factory.kw["bind"].url))
    settings.reset()
    return sqlite_factory


def submit(**slots) -> list[dict]:
    values = {
        "language": "en",
        "hub": "dresden",
        "visitor_name": "Jana Müller",
        "visitor_email": "jana@müller.de",  # as the form keeps it: as typed
        "visitor_organisation": "-",
        "enquiry_text": "Wir brauchen Räume.",
        "consent": True,
        "enquiry_confirmed": True,
        **slots,
    }
    events = [{"event": "user", "text": "Hallo \ud83d", "timestamp": 1_790_000_000}]
    tracker = Tracker("rest:jana", values, {}, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitEnquiry().run(dispatcher, tracker, {}))
    return dispatcher.messages


@pytest.mark.parametrize(
    "typed, stored",
    [("jana@müller.de", "jana@xn--mller-kva.de"), ("jörg@müller.de", "jörg@xn--mller-kva.de")],
)
def test_an_idn_address_is_stored_in_idna_and_the_visitor_told_the_one_they_typed(
    submitting, typed, stored
):
    (said,) = submit(visitor_email=typed, visitor_name="Jana \ud800 Müller")
    (enquiry,) = store.enquiries(submitting)
    assert said["response"] == "utter_enquiry_sent" and said["reference"] == enquiry.reference
    assert said["visitor_email"] == typed
    assert enquiry.visitor_email == stored and enquiry.visitor_name == "Jana \ufffd Müller"
    assert "Hallo \ufffd" in enquiry.transcript
    assert [(m.kind, m.recipient, m.status) for m in enquiry.outbox] == [
        ("contact", "lindner@example.org", "pending"),
        ("acknowledgement", stored, "pending"),
    ]


def test_a_mail_that_cannot_be_rendered_still_gives_the_visitor_their_reference(
    submitting, monkeypatch
):
    def broken(*_args):
        raise UnicodeEncodeError("ascii", "jana@müller.de", 6, 7, "ordinal not in range(128)")

    monkeypatch.setattr(render, "contact_message", broken)
    (said,) = submit()
    (enquiry,) = store.enquiries(submitting)
    assert said["response"] == "utter_enquiry_sent" and said["reference"] == enquiry.reference
    assert [m.status for m in enquiry.outbox] == ["failed", "pending"]
    assert enquiry.outbox[0].last_error.startswith("not rendered: UnicodeEncodeError")
    assert store.status_of(enquiry) == "failed"
