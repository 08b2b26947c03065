"""Answers about the hubs themselves: overview, difference, trails."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    KnowledgeAction,
    hub_in_conversation,
    names_both_hubs,
    names_joined,
    remember_hub,
    utter_both_contacts,
    utter_contact_line,
    utter_contacts_and_remember,
)
from actions.followups import FollowUpAware
from bot.asked import corrects
from bot.knowledge.facts import Facts, Hub


def _focus(facts: Facts, hub: Hub, domain: dict, tracker: Tracker) -> str:
    return names_joined((topic.name for topic in facts.focus_of(hub.key)), domain, tracker)


def _compare(dispatcher: CollectingDispatcher, facts: Facts, domain, tracker: Tracker) -> None:
    values = {}
    for hub in facts.hubs:
        values |= {
            f"{hub.key}_name": hub.name,
            f"{hub.key}_approach": hub.approach_text,
            f"{hub.key}_topics": _focus(facts, hub, domain, tracker),
        }
    dispatcher.utter_message(response="utter_compare_hubs", **values)
    utter_both_contacts(dispatcher, facts)


class ActionAnswerHub(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_hub"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        hub = hub_in_conversation(tracker, facts)
        if hub is None or names_both_hubs(tracker):
            # "what is the hub?", "the Dresden/Leipzig hub": both halves of it
            _compare(dispatcher, facts, domain, tracker)
            return []
        dispatcher.utter_message(
            response="utter_hub_overview",
            hub_name=hub.name,
            approach=hub.approach_text,
            strategy=hub.strategy,
            mission=hub.mission,
            topics=_focus(facts, hub, domain, tracker),
            location=hub.location,
        )
        utter_contact_line(dispatcher, facts, hub)
        return remember_hub(hub)


class ActionAnswerLocation(KnowledgeAction):
    partly_answers = frozenset({"address"})  # the campus, not the street

    def name(self) -> str:
        return "action_answer_location"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        hub = hub_in_conversation(tracker, facts)
        for each_hub in [hub] if hub else facts.hubs:
            dispatcher.utter_message(
                response="utter_hub_location", hub_name=each_hub.name, location=each_hub.location
            )
        return utter_contacts_and_remember(dispatcher, facts, hub)


class ActionCompareHubs(FollowUpAware):
    def name(self) -> str:
        return "action_compare_hubs"

    def is_follow_up(self, tracker: Tracker) -> bool:
        """ "halt, ich bin in Dresden, nicht Leipzig. Gleiche Frage": both hubs named,
        the last question again of the one meant."""
        return corrects(tracker.latest_message.get("text"))

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        _compare(dispatcher, facts, domain, tracker)
        return []


class ActionAnswerTrails(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_trails"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        hubs = [h for h in facts.hubs if facts.trails_of(h.key)]
        for hub in hubs:
            for trail in facts.trails_of(hub.key):
                dispatcher.utter_message(
                    response="utter_trails", hub_name=hub.name, description=trail.description
                )
            utter_contact_line(dispatcher, facts, hub)
        return remember_hub(hubs[0]) if len(hubs) == 1 else []
