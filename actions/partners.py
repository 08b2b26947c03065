"""Answers about partner organisations: by hub, by kind, and "is X a partner?"."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.context import (
    KnowledgeAction,
    hub_in_conversation,
    hub_in_message,
    latest_entity,
    names_joined,
    remember_hub,
    utter_contact_line,
    utter_contacts_and_remember,
)
from bot.knowledge.facts import ORGANISATION_KINDS, Facts


class ActionAnswerPartners(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_partners"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        hub = hub_in_conversation(tracker, facts)
        kind = latest_entity(tracker, "org_kind")
        kinds = [kind] if kind in ORGANISATION_KINDS else list(ORGANISATION_KINDS)
        if (
            kind
            and hub
            and not hub_in_message(tracker, facts)
            and not facts.partners(hub.key, kind)
        ):
            hub = None  # "which Fraunhofer institutes?" after talking about Leipzig: ask both
        with_kind = [h for h in facts.hubs if kind and facts.partners(h.key, kind)]
        for each_hub in [hub] if hub else (with_kind or facts.hubs):
            named = False
            for each_kind in kinds:
                partners = facts.partners(hub=each_hub.key, kind=each_kind)
                if partners:
                    named = True
                    dispatcher.utter_message(
                        response=f"utter_partners_{each_kind}",
                        hub_name=each_hub.name,
                        partners=names_joined((p.name for p in partners), domain, tracker),
                    )
            if not named:
                dispatcher.utter_message(
                    response="utter_no_partners_of_kind", hub_name=each_hub.name
                )
        if not facts.partner_lists_complete:
            dispatcher.utter_message(response="utter_partners_incomplete")
        return utter_contacts_and_remember(dispatcher, facts, hub)


class ActionAnswerIsPartner(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_is_partner"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        organisation = facts.organisation(latest_entity(tracker, "organisation"))
        mention = latest_entity(tracker, "org_mention")
        if organisation is None and mention:
            organisation = facts.find_organisation(mention)
        if organisation is None:
            if mention:
                dispatcher.utter_message(response="utter_is_partner_no", organisation=mention)
            else:
                dispatcher.utter_message(response="utter_ask_organisation")
            return []
        hub = facts.hub(organisation.hub)
        dispatcher.utter_message(
            response="utter_is_partner_yes", organisation=organisation.name, hub_name=hub.name
        )
        utter_contact_line(dispatcher, facts, hub)
        return remember_hub(hub)
