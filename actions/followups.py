"""The last question, asked again: after a switch of language, and after a follow-up
or correction that changes only its subject ("and Leipzig?", "sorry, I meant
Dresden", "nein, der andere Hub").

The question is the user message the last answer from the facts answered (the
``last_question`` slot remembers it); asked again, it keeps its intent and wording (so "opening hours?" stays a question the
facts cannot answer) and takes the new message's subject in place of its own.
"""

from __future__ import annotations

import copy
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted

from actions.context import (
    LAST_QUESTION_SLOT,
    KnowledgeAction,
    current_facts,
    hub_of,
    knowledge_actions,
)
from bot.asked import asks_again, is_negated, means_the_other_hub
from bot.knowledge.facts import Facts

# entities that say what a question is about, which a follow-up may change
SUBJECT_ENTITIES = frozenset(
    {"hub", "topic", "organisation", "org_mention", "org_kind", "programme", "person"}
)


def last_answer(tracker: Tracker) -> tuple[str, dict] | None:
    """The action that gave the last answer from the facts, and the message it
    answered (as the slot remembers it)."""
    question = tracker.get_slot(LAST_QUESTION_SLOT) or {}
    action = question.get("action")
    return (action, question.get("message") or {}) if action in knowledge_actions() else None


def _subject(entities: list[dict]) -> list[dict]:
    return [e for e in entities if e.get("entity") in SUBJECT_ENTITIES]


def _other_hub(tracker: Tracker, facts: Facts) -> list[dict]:
    others = [hub.key for hub in facts.hubs if hub.key != tracker.get_slot("hub")]
    return [{"entity": "hub", "value": others[0]}] if len(others) == 1 else []


def asked_again(tracker: Tracker, question: dict, facts: Facts) -> Tracker | None:
    """The tracker as if ``question`` had been asked of the latest message's subject;
    None when the latest message names no new subject. What the question named of
    the same kind, or of another hub, gives way ("partners in Dresden?" "and for
    e-health?": Leipzig's)."""
    latest = tracker.latest_message
    named_now = [
        e
        for e in latest.get("entities") or []
        if not is_negated(latest.get("text"), e.get("start", 0))
    ]
    subject = _subject(named_now)
    if not subject and means_the_other_hub(latest.get("text")):
        subject = _other_hub(tracker, facts)
    if not subject:
        return None
    named = {e["entity"] for e in subject}
    hubs = {hub_of(facts, e["entity"], e.get("value")) for e in subject} - {None}

    def still_meant(entity: dict) -> bool:
        if entity.get("entity") not in SUBJECT_ENTITIES:
            return True
        hub = hub_of(facts, entity["entity"], entity.get("value"))
        return entity["entity"] not in named and (hub is None or not hubs or hub in hubs)

    kept = [e for e in question.get("entities") or [] if still_meant(e)]
    again = copy.copy(tracker)
    again.latest_message = {**question, "entities": kept + subject}
    again.slots = {**tracker.slots, "hub": None}
    return again


def asked_as_before(tracker: Tracker, question: dict) -> Tracker:
    """The tracker as if ``question`` had been asked again (after a language switch)."""
    again = copy.copy(tracker)
    again.latest_message = question
    return again


async def answer_again(dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]] | None:
    """The last question answered again of the latest message's subject; None when
    there was none to ask again or the message names no new subject."""
    previous = last_answer(tracker)
    if not previous:
        return None
    facts = await current_facts(dispatcher, tracker)
    if facts is None:
        return []
    again = asked_again(tracker, previous[1], facts)
    if again is None:
        return None
    action = knowledge_actions()[previous[0]]()
    # as a question of its own, not a follow-up of itself
    return await KnowledgeAction.run(action, dispatcher, again, domain)


class FollowUpAware(KnowledgeAction):
    """An action for a message that may only change the last question's subject: the
    answer to "which hub?", or a message the classifier could not place. Such a
    message answers the last question again, when there was one to ask again."""

    def is_follow_up(self, tracker: Tracker) -> bool:
        return asks_again(tracker.latest_message.get("text"))

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        if self.is_follow_up(tracker):
            answered = await answer_again(dispatcher, tracker, domain)
            if answered is not None:
                return answered
        return await super().run(dispatcher, tracker, domain)


class ActionDefaultFallback(Action):
    """What Rasa runs when no policy is sure of the next action (Rasa's own says
    ``utter_default`` and forgets the message). A short "and Infineon?" after an
    answer, whatever intent the classifier gave it, asks that question again."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[dict[str, Any]]:
        if asks_again(tracker.latest_message.get("text")):
            answered = await answer_again(dispatcher, tracker, domain)
            if answered is not None:
                return answered
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
