"""Who is the right contact? Adapters from the conversation to ``bot.routing``."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.context import (
    KnowledgeAction,
    contact_values,
    hub_buttons,
    hub_in_conversation,
    latest_intent,
    need_from_message,
    remember_hub,
    utter_both_contacts,
    utter_contacts_and_remember,
)
from bot.asked import about_the_hubs
from bot.knowledge.facts import Facts
from bot.routing import Clarification, Need, route

DRAFT_MIN_WORDS = 8


def enquiry_draft(tracker: Tracker) -> list[dict]:
    """A message that already describes the need becomes the enquiry's text, so the
    visitor need not type it again (the summary shows it before anything is sent)."""
    text = (tracker.latest_message.get("text") or "").strip()
    return [SlotSet("enquiry_text", text)] if len(text.split()) >= DRAFT_MIN_WORDS else []


class ActionAnswerContact(KnowledgeAction):
    """ "Who is the contact (there)?" and "what's his number?"."""

    def name(self) -> str:
        return "action_answer_contact"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        hub = hub_in_conversation(tracker, facts)
        if hub is None:
            utter_both_contacts(dispatcher, facts)
            return []
        contact = facts.contact_for_hub(hub.key)
        dispatcher.utter_message(response="utter_contact_person", **contact_values(contact, hub))
        return remember_hub(hub)


class ActionAnswerUnknown(KnowledgeAction):
    """A question about the hubs that the facts have no answer to (opening hours, fees,
    dates, e-mail addresses): said plainly, never another fact in its place, with the
    contact who can tell, the hub's where the conversation names one, else both. A
    detail of something not the hubs' is off-topic (bot/asked.py)."""

    def name(self) -> str:
        return "action_answer_unknown"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        entities = [e.get("entity") for e in tracker.latest_message.get("entities") or []]
        if not about_the_hubs(tracker.latest_message.get("text") or "", entities):
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        dispatcher.utter_message(response="utter_fact_unknown")
        return utter_contacts_and_remember(dispatcher, facts, hub_in_conversation(tracker, facts))


class ActionRouteEnquiry(KnowledgeAction):
    """Names exactly one contact with the reason, or asks which hub; never guesses."""

    def name(self) -> str:
        return "action_route_enquiry"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        need = need_from_message(tracker)
        if need == Need() or latest_intent(tracker) == "inform":
            # the answer to "which hub?", or "who can I talk to?" in a conversation
            # that is already about one hub: the pending topic still counts
            hub = hub_in_conversation(tracker, facts)
            need = Need(hub=hub.key if hub else None, topic=need.topic or tracker.get_slot("topic"))
        decision = route(need, facts)
        if isinstance(decision, Clarification):
            buttons = hub_buttons(decision.hubs)
            if decision.subject:
                dispatcher.utter_message(
                    response="utter_ask_which_hub_for_subject",
                    subject=decision.subject,
                    buttons=buttons,
                )
            else:
                dispatcher.utter_message(response="utter_ask_which_hub", buttons=buttons)
            return [SlotSet("hub", None), SlotSet("topic", need.topic)]
        dispatcher.utter_message(
            response=f"utter_route_{decision.reason.kind}",
            subject=decision.reason.subject,
            **contact_values(decision.contact, decision.hub),
        )
        dispatcher.utter_message(response="utter_offer_handoff", contact_name=decision.contact.name)
        return [
            *remember_hub(decision.hub),
            SlotSet("topic", None),
            SlotSet("routing_kind", decision.reason.kind),
            SlotSet("routing_subject", decision.reason.key),
            *enquiry_draft(tracker),
        ]


class ActionUncertain(ActionRouteEnquiry):
    """The classifier is unsure. A message that names something of the hubs ("micro
    electronics contact") is still routed; anything else is declined politely."""

    def name(self) -> str:
        return "action_uncertain"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        need = need_from_message(tracker)
        if need.topic or need.organisation or need.programme or need.person:
            return super().answer(dispatcher, tracker, facts, domain)
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
