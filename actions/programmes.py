"""Answers about programmes and plans: SpinLab, funding, office space, future
plans, the website. Which intent asks which question is dialogue design, so it is
kept here; which programmes answer a question is in the facts (each programme's
``answers``), so renaming a programme in the knowledge base keeps its answers."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.context import (
    KnowledgeAction,
    latest_entity,
    latest_intent,
    utter_contacts_and_remember,
)
from bot.knowledge.facts import PROGRAMME_QUESTIONS, Facts, Programme

# intent -> the question (bot.knowledge.facts.PROGRAMME_QUESTIONS) it asks
QUESTION_OF_INTENT = {
    "ask_spinlab": "spinlab",
    "ask_funding": "funding",
    "ask_office_space": "office_space",
    "ask_website": "website",
}
if undeclared := set(QUESTION_OF_INTENT.values()) - set(PROGRAMME_QUESTIONS):  # fail at start
    raise ValueError(f"questions not in PROGRAMME_QUESTIONS: {', '.join(sorted(undeclared))}")


def _programmes_asked(tracker: Tracker, facts: Facts) -> list[Programme]:
    """The programme named, unless the question is one it does not answer ("the fund,
    and office space?" asks office space of the programmes that have it)."""
    question = QUESTION_OF_INTENT.get(latest_intent(tracker) or "")
    if named := facts.programme(latest_entity(tracker, "programme")):
        if question is None or (question != "website" and question in named.answers):
            return [named]
        if question != "website" and not named.answers:
            return [named]
    if question:
        return facts.programmes_answering(question)
    return [p for p in facts.programmes if p.status == "planned"]  # future plans


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class ActionAnswerProgramme(KnowledgeAction):
    partly_answers = frozenset({"date"})  # the brief gives plans a timeframe, no date

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
