"""Answers about programmes and plans: SpinLab, funding, office space, future
plans, the website. Which programmes answer which question is dialogue design,
so it is kept here; what each programme is and when it comes is in the facts."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.context import (
    KnowledgeAction,
    latest_entity,
    latest_intent,
    utter_contacts_and_remember,
)
from bot.knowledge.facts import Facts, Programme

PROGRAMMES_BY_INTENT = {
    "ask_spinlab": ("spinlab",),
    "ask_funding": ("spinlab", "venture_fund"),
    "ask_office_space": ("rental_units",),
    "ask_website": ("joint_website",),
}


def _programmes_asked(tracker: Tracker, facts: Facts) -> list[Programme]:
    if named := facts.programme(latest_entity(tracker, "programme")):
        if latest_intent(tracker) != "ask_website":
            return [named]
    intent = latest_intent(tracker)
    if intent in PROGRAMMES_BY_INTENT:
        return [p for key in PROGRAMMES_BY_INTENT[intent] if (p := facts.programme(key))]
    return [p for p in facts.programmes if p.status == "planned"]  # future plans


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class ActionAnswerProgramme(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_programme"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        programmes = _programmes_asked(tracker, facts)
        for programme in programmes:
            asked_for_website = latest_intent(tracker) == "ask_website"
            if asked_for_website and facts.website_launched:
                dispatcher.utter_message(response="utter_website_launched", url=facts.website_url)
            elif asked_for_website:
                dispatcher.utter_message(
                    response="utter_website_not_launched", description=programme.description
                )
            else:
                dispatcher.utter_message(
                    response=f"utter_programme_{programme.timeframe}",
                    name=programme.name,
                    description=programme.description,
                    description_sentence=_sentence(programme.description),
                )
        hubs = {p.hub for p in programmes}
        hub = facts.hub(hubs.pop()) if len(hubs) == 1 else None
        return utter_contacts_and_remember(dispatcher, facts, hub)
