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
from actions.followups import FollowUpAware
from bot.knowledge.facts import ORGANISATION_KINDS, Facts


class ActionAnswerPartners(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_partners"

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        events = []
        if latest_entity(tracker, "organisation") or latest_entity(tracker, "org_mention"):
            # "is the city of Leipzig a partner too, or only companies?"
            events = ActionAnswerIsPartner().answer(dispatcher, tracker, facts, domain)
        hub = hub_in_conversation(tracker, facts)
        named_kinds = [
            k for k in tracker.get_latest_entity_values("org_kind") if k in ORGANISATION_KINDS
        ]
        # "universities and institutes": both kinds, and no one kind to look for
        kind = named_kinds[0] if len(named_kinds) == 1 else None
        kinds = list(dict.fromkeys(named_kinds)) or list(ORGANISATION_KINDS)
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
        return events + utter_contacts_and_remember(dispatcher, facts, hub)


class ActionAnswerIsPartner(FollowUpAware):
    def name(self) -> str:
        return "action_answer_is_partner"

    def is_follow_up(self, tracker: Tracker) -> bool:
        """ "und was ist mit dem Dresdner?" names no organisation: the last question
        again, of the Dresden hub."""
        named = latest_entity(tracker, "organisation") or latest_entity(tracker, "org_mention")
        return not named and super().is_follow_up(tracker)

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        """Each organisation the message names ("TU Chemnitz and HTW?"), in turn."""
        named = [
            facts.organisation(key) for key in tracker.get_latest_entity_values("organisation")
        ]
        for mention in tracker.get_latest_entity_values("org_mention"):
            named.append(facts.find_organisation(mention) or mention)
        named = list(dict.fromkeys(item for item in named if item))
        if not named:
            if latest_entity(tracker, "org_kind"):  # "are Fraunhofer institutes involved?"
                return ActionAnswerPartners().answer(dispatcher, tracker, facts, domain)
            # no partner question at all ("was heisst 'enabling iot'?"): what its words ask
            answered = self.answer_as_asked(dispatcher, tracker, facts, domain)
            if answered is not None:
                return answered
            dispatcher.utter_message(response="utter_ask_organisation")
            return []
        hubs = []
        for organisation in named:
            if isinstance(organisation, str):
                dispatcher.utter_message(response="utter_is_partner_no", organisation=organisation)
                continue
            hubs.append(facts.hub(organisation.hub))
            dispatcher.utter_message(
                response="utter_is_partner_yes",
                organisation=organisation.name,
                hub_name=hubs[-1].name,
            )
        if not hubs:
            return []  # the answer says the contact persons can tell more
        for hub in dict.fromkeys(hubs):
            utter_contact_line(dispatcher, facts, hub)
        return remember_hub(hubs[-1])
