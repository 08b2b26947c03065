"""What every answer needs: the facts in the conversation's language, the entities
of the latest message, and the hub the conversation is about (so "who are its
partners?" refers back)."""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Iterable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.knowledge.facts import BASE_LANGUAGE, Contact, Facts, Hub, join_names
from bot.knowledge.store import KnowledgeBase
from bot.routing import Need

log = logging.getLogger(__name__)

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


def hub_in_message(tracker: Tracker, facts: Facts) -> Hub | None:
    """The hub the latest message names, directly or through something of that hub."""
    if hub := facts.hub(latest_entity(tracker, "hub")):
        return hub
    for entity, lookup in _HUB_BEARING.items():
        item = lookup(facts, latest_entity(tracker, entity))
        if item is not None and item.hub:
            return facts.hub(item.hub)
    return None


def names_both_hubs(tracker: Tracker) -> bool:
    """The message names more than one hub ("the Dresden/Leipzig digital hub")."""
    return len(set(tracker.get_latest_entity_values("hub"))) > 1


def hub_in_conversation(tracker: Tracker, facts: Facts) -> Hub | None:
    return hub_in_message(tracker, facts) or facts.hub(tracker.get_slot("hub"))


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


class KnowledgeAction(Action, ABC):
    """An action that answers from the facts."""

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        facts = await current_facts(dispatcher, tracker)
        if facts is None:
            return []
        events = self.answer(dispatcher, tracker, facts, domain)
        if tracker.active_loop_name:  # a side question must not re-route the enquiry
            events = [e for e in events if e.get("name") not in ("hub", "topic")]
        return events

    @abstractmethod
    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, facts: Facts, domain: dict
    ) -> list[dict[str, Any]]:
        """Utter the answer from ``facts``; return the events (e.g. the hub now discussed)."""
