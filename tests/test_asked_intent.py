"""A request to pass an enquiry on that only asks a question is taken as that question."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

from bot.asked import UNFAMILIAR_WORDS
from nlu.components.asked_intent import RequestOrQuestion


def classified(text: str, intent: str = "request_enquiry") -> str:
    message = Message({"text": text, INTENT: {"name": intent, "confidence": 0.8}})
    RequestOrQuestion({}).process([message])
    return message.get(INTENT)["name"]


@pytest.mark.parametrize(
    "text, question",
    [
        (
            "Können Sie mir bitte beide Telefonnummern geben, für Dresden und Leipzig?",
            "ask_contact",
        ),
        ("Bitte sämtliche Telefonnummern, ich leite sie intern weiter.", "ask_contact"),
        ("gibts eine allgemeine email adresse fuer anfragen", "ask_unknown_fact"),
        ("kann man euch besichtigen?", "ask_unknown_fact"),
    ],
)
def test_a_request_that_only_asks_for_a_number_or_a_detail_is_that_question(text, question):
    assert classified(text) == question


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to leave my phone number so he can call me back",
        "can you pass my phone number on to Dr Weber",
        "leiten Sie meine Telefonnummer bitte weiter",
        "schreib dem Ansprechpartner eine E-Mail für mich",
        "I'd like to send an enquiry",
    ],
)
def test_a_request_to_pass_something_on_stays_a_request(text):
    assert classified(text) == "request_enquiry"


def test_other_intents_are_left_as_classified():
    assert classified("what is the phone number of the leipzig hub", "ask_hub") == "ask_hub"


@pytest.mark.parametrize(
    "text, intent, question",
    [
        ("danke. und die kosten?", "thank", "ask_unknown_fact"),
        ("thanks! and what does it cost?", "thank", "ask_unknown_fact"),
        ("hallo, wie ist die telefonnummer?", "greet", "ask_contact"),
    ],
)
def test_a_courtesy_that_goes_on_to_ask_is_that_question(text, intent, question):
    assert classified(text, intent) == question


@pytest.mark.parametrize("text, intent", [("vielen dank!", "thank"), ("hello there", "greet")])
def test_a_plain_courtesy_stays_one(text, intent):
    assert classified(text, intent) == intent


def classified_with(text: str, unfamiliar: list[str], entities=()) -> str:
    message = Message(
        {
            "text": text,
            INTENT: {"name": "request_enquiry", "confidence": 0.8},
            "entities": [{"entity": e} for e in entities],
            UNFAMILIAR_WORDS: unfamiliar,
        }
    )
    RequestOrQuestion({}).process([message])
    return message.get(INTENT)["name"]


def test_a_request_in_words_of_no_hub_question_that_names_nothing_of_theirs_is_off_topic():
    assert classified_with("write me a poem for my aunt", ["poem", "aunt"]) == "out_of_scope"
    assert classified_with("ein gedicht über leipzig bitte", ["gedicht"], ["hub"]) == "out_of_scope"
    assert classified_with("I'd like to send an enquiry", []) == "request_enquiry"
    assert (
        classified_with("poems about energy for the hub", ["poems"], ["topic"]) == "request_enquiry"
    )
    assert classified_with("please pass my poem on to Dr Weber", ["poem"]) == "request_enquiry"
