"""The conversation's language: it starts in the language of the page the visitor is
on, and after "bitte auf Deutsch" the last answer is given again in the new language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.context import knowledge_actions
from actions.followups import asked_as_before, last_answer
from bot.knowledge.facts import LANGUAGES

METADATA_SLOT = "session_started_metadata"


def page_language(metadata: dict | None) -> str | None:
    """'de' from a page language such as 'de', 'de-DE' or 'DE'; None if not offered."""
    code = str((metadata or {}).get("language") or "").split("-")[0].lower()
    return code if code in LANGUAGES else None


class ActionSessionStart(Action):
    """Rasa's session start (slots carried over, as the domain configures) plus the
    page language (``metadata.language`` of the first message) for a new visitor."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            events += [
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if value is not None and name != METADATA_SLOT
            ]
        is_new_visitor = not any(e.get("event") == "user" for e in tracker.events)
        language = page_language(tracker.get_slot(METADATA_SLOT))
        if language and is_new_visitor:
            events.append(SlotSet("language", language))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionRepeatAnswer(Action):
    """After the switch of language is confirmed, the last answer again in the new
    language: the visitor asked for German because they want to read it in German."""

    def name(self) -> str:
        return "action_repeat_answer"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        previous = last_answer(tracker)
        if previous is None:
            return []
        action, question = previous
        return await knowledge_actions()[action]().run(
            dispatcher, asked_as_before(tracker, question), domain
        )
