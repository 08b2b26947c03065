"""What every answer needs: the facts in the conversation's language, the entities
of the latest message, and the hub the conversation is about (so "who are its
partners?" refers back)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Iterable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.asked import also_asked, asks_of_both_hubs, unknown_details
from bot.knowledge.facts import BASE_LANGUAGE, Contact, Facts, Hub, join_names
from bot.knowledge.store import KnowledgeBase
from bot.routing import Need

log = logging.getLogger(__name__)

LAST_QUESTION_SLOT = "last_question"
# the intents also_asked() finds -> the action that answers each (as data/rules.yml)
ALSO_ANSWERED_BY = {
    "ask_location": "action_answer_location",
    "ask_office_space": "action_answer_programme",
    "ask_funding": "action_answer_programme",
    "ask_website": "action_answer_programme",
}
ANSWERED_BY = {
    **ALSO_ANSWERED_BY,
    "ask_hub": "action_answer_hub",
    "ask_is_partner": "action_answer_is_partner",
    "ask_partners": "action_answer_partners",
    "ask_future_plans": "action_answer_programme",
    "compare_hubs": "action_compare_hubs",
}
# questions the words alone do not make ("is it involved?"): they need what they are
# asked of in the message
ASKED_OF = {"ask_is_partner": frozenset({"organisation", "org_mention", "org_kind"})}

knowledge_base = KnowledgeBase(refresh_seconds=settings.get().knowledge_refresh_seconds)

# entity -> Facts lookup that yields an item with a ``hub`` attribute
_HUB_BEARING = {
    "person": Facts.contact,
    "organisation": Facts.organisation,
    "programme": Facts.programme,
    "topic": Facts.topic,
}


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or BASE_LANGUAGE


def response_text(domain: dict, response: str, language: str) -> str:
    """The text of a one-line response in ``language`` (its variant conditioned on the
    language slot), for words that go inside other responses."""
    variants = (domain.get("responses") or {}).get(response) or [{"text": ""}]
    for variant in variants:
        conditions = variant.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variant["text"]
    return next((v["text"] for v in variants if not v.get("condition")), variants[0]["text"])


def names_joined(names, domain: dict, tracker: Tracker) -> str:
    """'A, B and C' with the conversation's word for 'and'."""
    return join_names(names, response_text(domain, "utter_list_and", language_of(tracker)))


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def need_from_message(tracker: Tracker) -> Need:
    return Need(**{field: latest_entity(tracker, field) for field in Need.__dataclass_fields__})


def hub_of(facts: Facts, entity: str, value: str | None) -> str | None:
    """The key of the hub an entity names, directly or as something of that hub."""
    if entity == "hub":
        return value if facts.hub(value) else None
    item = _HUB_BEARING[entity](facts, value) if entity in _HUB_BEARING else None
    return item.hub if item is not None and item.hub else None


def hub_in_message(tracker: Tracker, facts: Facts) -> Hub | None:
    """The hub the latest message names, directly or through something of that hub."""
    for entity in ("hub", *_HUB_BEARING):
        if key := hub_of(facts, entity, latest_entity(tracker, entity)):
            return facts.hub(key)
    return None


def names_both_hubs(tracker: Tracker) -> bool:
    """The message names more than one hub ("the Dresden/Leipzig digital hub")."""
    return len(set(tracker.get_latest_entity_values("hub"))) > 1


def hub_in_conversation(tracker: Tracker, facts: Facts) -> Hub | None:
    return hub_in_message(tracker, facts) or facts.hub(tracker.get_slot("hub"))


def of_both_hubs(tracker: Tracker, facts: Facts) -> bool:
    """ "Both numbers, Dresden and Leipzig", "the joint contact person": asked of the two
    hubs at once, whatever hub the conversation was about."""
    text = tracker.latest_message.get("text")
    return names_both_hubs(tracker) or (
        asks_of_both_hubs(text) and hub_in_message(tracker, facts) is None
    )


def contact_values(contact: Contact, hub: Hub) -> dict[str, str]:
    return {
        "hub_name": hub.name,
        "hub_city": hub.city,
        "contact_name": contact.name,
        "contact_organisation": contact.organisation,
        "contact_phone": contact.phone,
    }


def utter_contact_line(dispatcher: CollectingDispatcher, facts: Facts, hub: Hub) -> None:
    contact = facts.contact_for_hub(hub.key)
    dispatcher.utter_message(response="utter_contact_line", **contact_values(contact, hub))


def utter_both_contacts(dispatcher: CollectingDispatcher, facts: Facts) -> None:
    dispatcher.utter_message(response="utter_contacts_both", **facts.contacts_by_hub())


def hub_buttons(hubs: Iterable[Hub]) -> list[dict[str, str]]:
    """Buttons that answer "which hub?": titles from the facts (in the conversation's
    language), payloads in Rasa's intent syntax, as if the visitor had named the hub."""
    buttons = []
    for hub in hubs:
        entities = json.dumps({"hub": hub.key}, separators=(",", ":"))
        buttons.append({"title": hub.choice_title(), "payload": f"/inform{entities}"})
    return buttons


def remember_hub(hub: Hub | None) -> list[dict[str, Any]]:
    return [SlotSet("hub", hub.key)] if hub else []


def utter_contacts_and_remember(
    dispatcher: CollectingDispatcher, facts: Facts, hub: Hub | None
) -> list[dict[str, Any]]:
    """Close an answer about one hub with its contact, or about both with both contacts."""
    if hub is None:
        utter_both_contacts(dispatcher, facts)
        return []
    utter_contact_line(dispatcher, facts, hub)
    return remember_hub(hub)


def utter_unknown(
    dispatcher: CollectingDispatcher, tracker: Tracker, facts: Facts
) -> list[dict[str, Any]]:
    """ "I don't know that", said plainly, with the contact who can tell."""
    dispatcher.utter_message(response="utter_fact_unknown")
    return utter_contacts_and_remember(dispatcher, facts, hub_in_conversation(tracker, facts))


async def current_facts(dispatcher: CollectingDispatcher, tracker: Tracker) -> Facts | None:
    """The facts in the conversation's language, read off the event loop; None (and an
    apology) when unavailable."""
    loop = asyncio.get_running_loop()
    try:
        facts = await loop.run_in_executor(None, knowledge_base.facts)
    except (SQLAlchemyError, LookupError):
        log.exception("knowledge base unavailable")
        dispatcher.utter_message(response="utter_knowledge_unavailable")
        return None
    return facts.in_language(language_of(tracker))


def asked_as(tracker: Tracker, intent: str) -> Tracker:
    """The tracker as if the latest message had been classified as ``intent``."""
    again = copy.copy(tracker)
    again.latest_message = {**tracker.latest_message, "intent": {"name": intent, "confidence": 1.0}}
    return again


def _without_repeats(dispatcher: CollectingDispatcher) -> None:
    """One contact line, not one per question answered."""
    seen: set[str] = set()
    kept = []
    for message in dispatcher.messages:
        fingerprint = json.dumps(message, sort_keys=True, default=str)
        if fingerprint not in seen:
            seen.add(fingerprint)
            kept.append(message)
    dispatcher.messages[:] = kept


class KnowledgeAction(Action, ABC):
    """An action that answers from the facts; a detail the facts never give (asked of
    what this action answers about) is "I don't know", not this action's answer. The
    other questions of the facts the message asks are answered with it."""

    answers_other_questions = True
    # details of which this action's answer still tells what is known ("when is the
    # fund coming?": not a date, but "in the medium term")
    partly_answers: frozenset[str] = frozenset()

    def question(self, tracker: Tracker) -> dict[str, Any]:
        """What to remember of the question answered, to ask it again."""
        message = tracker.latest_message
        return {
            "action": self.name(),
            "message": {key: message.get(key) for key in ("text", "intent", "entities")},
        }

    def asks_what_the_facts_lack(self, tracker: Tracker) -> bool:
        return bool(unknown_details(tracker.latest_message.get("text")))

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        facts = await current_facts(dispatcher, tracker)
        if facts is None:
            return []
        lacking = self.asks_what_the_facts_lack(tracker)
        if lacking and unknown_details(tracker.latest_message.get("text")) <= self.partly_answers:
            dispatcher.utter_message(response="utter_fact_unknown_exactly")
            events = self.answer(dispatcher, tracker, facts, domain)
        elif lacking:
            events = utter_unknown(dispatcher, tracker, facts)
        else:
            events = self.answer(dispatcher, tracker, facts, domain)
            if self.answers_other_questions:
                events += self._other_questions(dispatcher, tracker, facts, domain)
        _without_repeats(dispatcher)
        events.append(SlotSet(LAST_QUESTION_SLOT, self.question(tracker)))
        if tracker.active_loop_name:  # a side question must not re-route the enquiry
            events = [e for e in events if e.get("name") not in ("hub", "topic")]
        return events

    def _other_questions(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict) -> list:
        events: list[dict[str, Any]] = []
        asked = latest_intent(tracker)
        for intent in also_asked(tracker.latest_message.get("text")):
            if intent == asked or intent not in ALSO_ANSWERED_BY:
                continue
            action = knowledge_actions()[ALSO_ANSWERED_BY[intent]]()
            events += action.answer(dispatcher, asked_as(tracker, intent), facts, domain)
        return events

    def questions_taken(self, tracker: Tracker) -> frozenset[str]:
        """The questions of the facts (intents) the words of the message may be taken for."""
        return frozenset(ANSWERED_BY)

    def questions_asked(self, tracker: Tracker) -> list[str]:
        """The questions of the facts (intents) the words ask that this action takes."""
        taken = self.questions_taken(tracker)
        named = {e.get("entity") for e in tracker.latest_message.get("entities") or []}
        return [
            intent
            for intent in also_asked(tracker.latest_message.get("text"))
            if intent in taken and (intent not in ASKED_OF or ASKED_OF[intent] & named)
        ]

    def answer_as_asked(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        """The answers to the questions of the facts the words ask ("whats meant by
        enabling IoT?", "only energy? and what is planned?"), for a message the
        classifier could not place; None if they ask none."""
        asked = self.questions_asked(tracker)
        if not asked:
            return None
        events: list[dict[str, Any]] = []
        for intent in asked:
            action = knowledge_actions()[ANSWERED_BY[intent]]()
            events += action.answer(dispatcher, asked_as(tracker, intent), facts, domain)
        return events

    @abstractmethod
    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, facts: Facts, domain: dict
    ) -> list[dict[str, Any]]:
        """Utter the answer from ``facts``; return the events (e.g. the hub now discussed)."""


def knowledge_actions() -> dict[str, type[KnowledgeAction]]:
    """Every action that answers from the facts, by name."""
    found, pending = {}, list(KnowledgeAction.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if not getattr(cls, "__abstractmethods__", None):
            found[cls().name()] = cls
    return found
