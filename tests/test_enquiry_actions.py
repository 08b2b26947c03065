"""Validation of the enquiry form, as the visitor meets it."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.enquiry import ValidateEnquiryForm
from bot import settings

form = ValidateEnquiryForm()


def validate(slot: str, value, language: str = "en", said_with_values: bool = False):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("test", {"language": language}, {}, [], False, None, {}, "action_listen")
    result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, tracker, {}))
    if said_with_values:
        return result[slot], dispatcher.messages
    return result[slot], [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize("typed", ["anna@example.com", " <anna.b+hub@sub.example.org>. "])
def test_email_addresses_are_accepted_and_cleaned(typed):
    value, said = validate("visitor_email", typed)
    assert value in ("anna@example.com", "anna.b+hub@sub.example.org") and said == []


@pytest.mark.parametrize(
    "typed",
    ["anna", "anna@", "anna at example.com", "a@b", "x@y.z\r\nBcc: v@e.com", "a@b.c,d@e.fg"],
)
def test_bad_email_addresses_are_asked_again_with_the_reason(typed):
    assert validate("visitor_email", typed) == (None, ["utter_invalid_email"])


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
