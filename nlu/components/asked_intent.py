"""A request to pass an enquiry on that only asks a question.

"Können Sie mir bitte beide Telefonnummern geben?" and "gibts eine allgemeine E-Mail
adresse für Anfragen?" read to the classifier like "please pass my enquiry on", and
started the enquiry form with "Which hub should it go to?". Their words ask for a
contact's number or for a detail the brief never gives, and none of them asks to
pass anything on (``data/asked.yml``): such a message is taken as that question.
So is a thank-you or a greeting that goes on to ask one ("danke. und
öffnungszeiten?"): the courtesy needs no answer of its own, the question does. A
request in words no question about the hubs uses, that names nothing of theirs and
asks nothing to be passed on ("schreib mir ein Gedicht zum Geburtstag"), is off-topic.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.asked import (
    UNFAMILIAR_WORDS,
    asks_for_contact_details,
    asks_to_pass_on,
    speaks_of_the_hubs,
    unknown_details,
)
from nlu.components.stateless import Stateless

REQUEST, OFF_TOPIC = "request_enquiry", "out_of_scope"
# the intents a message may be classified as while it also asks a question
ANSWERED_BY_ITS_QUESTION = frozenset({REQUEST, "thank", "greet"})
# what names something of the hubs in a request (a city alone does not: "ein Gedicht
# über Leipzig")
THEIRS = frozenset({"topic", "organisation", "org_kind"})


def is_off_topic_request(message: Message) -> bool:
    text = message.get(TEXT)
    entities = {e.get("entity") for e in message.get(ENTITIES) or []}
    return (
        bool(message.get(UNFAMILIAR_WORDS))
        and not asks_to_pass_on(text)
        and not (speaks_of_the_hubs(text, entities) or THEIRS & entities)
    )


def question_asked_instead(text: str | None) -> str | None:
    """The intent of the question a request to pass an enquiry on (or a courtesy)
    only asks, or None."""
    if asks_to_pass_on(text):
        return None
    if asks_for_contact_details(text):
        return "ask_contact"
    return "ask_unknown_fact" if unknown_details(text) else None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RequestOrQuestion(Stateless):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") not in ANSWERED_BY_ITS_QUESTION:
                continue
            if asked := question_asked_instead(message.get(TEXT)):
                message.set(INTENT, {**intent, "name": asked}, add_to_output=True)
            elif intent.get("name") == REQUEST and is_off_topic_request(message):
                message.set(INTENT, {**intent, "name": OFF_TOPIC}, add_to_output=True)
        return messages
