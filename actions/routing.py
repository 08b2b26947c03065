"""Who is the right contact? Adapters from the conversation to ``bot.routing``."""

from __future__ import annotations

from dataclasses import replace

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.context import (
    ANSWERED_BY,
    KnowledgeAction,
    contact_values,
    hub_buttons,
    hub_in_conversation,
    latest_entity,
    latest_intent,
    names_both_hubs,
    need_from_message,
    of_both_hubs,
    remember_hub,
    utter_both_contacts,
    utter_unknown,
)
from actions.followups import FollowUpAware
from bot.asked import (
    UNFAMILIAR_WORDS,
    about_the_hubs,
    asks_a_detail_in_their_words,
    asks_for_contact_details,
    asks_of_both_hubs,
    asks_someone_at_the_hubs,
    asks_what_it_means,
    asks_whom_to_turn_to,
    corrects,
    named_in_their_words,
    names_the_hubs,
    refers_back,
    speaks_of_reaching_someone,
    speaks_of_the_hubs,
    speaks_to_the_hubs,
    unknown_details,
)
from bot.knowledge.facts import Facts
from bot.routing import Clarification, Need, route

DRAFT_MIN_WORDS = 8


def enquiry_draft(tracker: Tracker) -> list[dict]:
    """A message that already describes the need becomes the enquiry's text, so the
    visitor need not type it again (the summary shows it before anything is sent)."""
    text = (tracker.latest_message.get("text") or "").strip()
    return [SlotSet("enquiry_text", text)] if len(text.split()) >= DRAFT_MIN_WORDS else []


def _text_and_entities(tracker: Tracker) -> tuple[str, set[str]]:
    entities = {e.get("entity") for e in tracker.latest_message.get("entities") or []}
    return tracker.latest_message.get("text") or "", entities - {"language"}


def _unfamiliar_words(tracker: Tracker) -> list[str] | None:
    return tracker.latest_message.get(UNFAMILIAR_WORDS)


def _named_in_their_words(tracker: Tracker) -> set[str]:
    entities = tracker.latest_message.get("entities") or []
    return named_in_their_words(entities, _unfamiliar_words(tracker))


class ActionAnswerContact(KnowledgeAction):
    """ "Who is the contact (there)?" and "what's his number?"."""

    def name(self) -> str:
        return "action_answer_contact"

    def declines(self, tracker: Tracker) -> bool:
        """ "best restaurants in dresden?": a city, words no question about the hubs
        uses, and nothing that asks for a contact (bench/clinc_oos.py counts it)."""
        text = tracker.latest_message.get("text") or ""
        return (
            bool(_unfamiliar_words(tracker))
            and not speaks_of_reaching_someone(text)
            and not about_the_hubs(text, _named_in_their_words(tracker))
        )

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        if self.declines(tracker):
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        hub = None if of_both_hubs(tracker, facts) else hub_in_conversation(tracker, facts)
        if hub is None:
            utter_both_contacts(dispatcher, facts)
            return []
        person = facts.contact(latest_entity(tracker, "person"))
        named = facts.hub(latest_entity(tracker, "hub"))
        hubs = [hub]
        if person is not None and named is not None and person.hub != named.key:
            # "ist Dr. Lindner auch für Leipzig zuständig?": his hub's, and Leipzig's
            hubs = [facts.hub(person.hub), named]
        for each in hubs:
            contact = facts.contact_for_hub(each.key)
            dispatcher.utter_message(
                response="utter_contact_person", **contact_values(contact, each)
            )
        return remember_hub(hubs[-1])


class ActionAnswerUnknown(KnowledgeAction):
    """A question about the hubs that the facts have no answer to (opening hours, fees,
    dates, e-mail addresses): said plainly, never another fact in its place, with the
    contact who can tell, the hub's where the conversation names one, else both. A
    detail of something not the hubs' is off-topic (bot/asked.py)."""

    answers_other_questions = False

    def name(self) -> str:
        return "action_answer_unknown"

    def asks_what_the_facts_lack(self, tracker: Tracker) -> bool:
        return False  # what this action answers anyway, or declines

    def declines(self, tracker: Tracker) -> bool:
        """Whether the message gets the polite decline (bench/clinc_oos.py counts it):
        it names nothing of the hubs, nor points back at the hub the conversation is
        about ("gibts da Parkplätze?")."""
        text = tracker.latest_message.get("text") or ""
        in_a_hub_conversation = bool(tracker.get_slot("hub")) and refers_back(text)
        return not (
            about_the_hubs(text, _named_in_their_words(tracker))
            or asks_a_detail_in_their_words(text, _unfamiliar_words(tracker))
            or in_a_hub_conversation
        )

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        if self.declines(tracker):
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        if not unknown_details(tracker.latest_message.get("text")):  # "which topics?" is known
            answered = self.answer_as_asked(dispatcher, tracker, facts, domain)
            if answered is not None:
                return answered
        return utter_unknown(dispatcher, tracker, facts)


class ActionRouteEnquiry(FollowUpAware):
    """Names exactly one contact with the reason, or asks which hub; never guesses.
    A hub named after an answer from the facts ("and Leipzig?") asks that again."""

    def name(self) -> str:
        return "action_route_enquiry"

    def is_follow_up(self, tracker: Tracker) -> bool:
        return latest_intent(tracker) == "inform" or super().is_follow_up(tracker)

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        pending = tracker.get_slot("topic")  # "which hub?" was asked for a topic
        if latest_intent(tracker) == "inform" and not pending:
            # "what does smart infrastructure mean for the Leipzig hub?"
            answered = self.answer_as_asked(dispatcher, tracker, facts, domain)
            if answered is not None:
                return answered
        text = tracker.latest_message.get("text")
        need = need_from_message(tracker)
        asks_contact = asks_for_contact_details(text) or asks_whom_to_turn_to(text)
        if asks_contact and not need.names_more_than_a_hub() and of_both_hubs(tracker, facts):
            utter_both_contacts(dispatcher, facts)  # "both numbers, Dresden and Leipzig"
            return []
        if names_both_hubs(tracker):  # "Dresden or Leipzig?": the topic decides, or the visitor
            need = replace(need, hub=None)
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
    electronics contact") or asks how to reach someone is still routed; anything else
    is declined politely."""

    answers_other_questions = False  # what it could not place, it does not guess at

    def name(self) -> str:
        return "action_uncertain"

    def is_follow_up(self, tracker: Tracker) -> bool:
        return FollowUpAware.is_follow_up(self, tracker)

    def asks_what_the_facts_lack(self, tracker: Tracker) -> bool:
        text = tracker.latest_message.get("text") or ""
        return asks_a_detail_in_their_words(text, _unfamiliar_words(tracker)) or (
            bool(unknown_details(text)) and about_the_hubs(text, _named_in_their_words(tracker))
        )

    def routes(self, tracker: Tracker) -> bool:
        need = need_from_message(tracker)
        if need.names_more_than_a_hub():
            return True
        text, entities = _text_and_entities(tracker)
        asks = asks_whom_to_turn_to(text) or asks_for_contact_details(text)
        return asks and (about_the_hubs(text, entities) or not entities)

    def questions_taken(self, tracker: Tracker) -> frozenset[str]:
        """Any question of the facts, asked of something of the hubs."""
        return (
            frozenset(ANSWERED_BY) if about_the_hubs(*_text_and_entities(tracker)) else frozenset()
        )

    def takes_as_a_question_of_the_facts(self, tracker: Tracker) -> bool:
        text, _ = _text_and_entities(tracker)
        if asks_whom_to_turn_to(text):
            return False
        return bool(self.questions_asked(tracker))

    def declines(self, tracker: Tracker) -> bool:
        """Whether the message gets the polite decline (bench/clinc_oos.py counts it)."""
        return not (
            self.asks_what_the_facts_lack(tracker)
            or self.takes_as_a_question_of_the_facts(tracker)
            or self.routes(tracker)
        )

    def answer(self, dispatcher, tracker: Tracker, facts: Facts, domain: dict):
        if self.takes_as_a_question_of_the_facts(tracker):
            return self.answer_as_asked(dispatcher, tracker, facts, domain)
        if self.routes(tracker):
            return super().answer(dispatcher, tracker, facts, domain)
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionDecline(ActionUncertain):
    """Off-topic, as the classifier says, unless the message still asks something of
    the hubs: a person named ("I lost Dr Weber's card"), how to reach someone about a
    hub or topic of theirs, or a detail the facts lack asked of them. A city alone
    does not make a detail theirs (the zoo of Leipzig), nor does "you" ("where are you
    from?", "who should I call about my insurance?")."""

    def name(self) -> str:
        return "action_decline"

    def asks_what_the_facts_lack(self, tracker: Tracker) -> bool:
        text, entities = _text_and_entities(tracker)
        if not unknown_details(text):
            return False
        in_a_hub_conversation = bool(tracker.get_slot("hub")) and refers_back(text)
        # nothing named: "bis wann muss man sich bewerben?" (not "what is there to do in
        # Leipzig at the weekend?")
        of_no_one_else = not entities and asks_a_detail_in_their_words(
            text, _unfamiliar_words(tracker), of_a_place=True
        )
        return (
            speaks_of_the_hubs(text, entities)
            or of_no_one_else
            or in_a_hub_conversation
            or self.takes_as_a_question_of_the_facts(tracker)  # "coworking desks? cost?"
        )

    def is_follow_up(self, tracker: Tracker) -> bool:
        # "and the weather in Leipzig?" is no follow-up; "sorry, I meant Leipzig" is
        return corrects(tracker.latest_message.get("text"))

    def questions_taken(self, tracker: Tracker) -> frozenset[str]:
        """Asked of the hubs themselves, any question of the facts; of a topic alone,
        only what it means for the hubs or what they offer of it ("whats meant by
        enabling IoT?", "do you offer desks?", not "what kind of traffic is there at
        9:00?"); of a partner, whether it takes part."""
        text, entities = _text_and_entities(tracker)
        if speaks_of_the_hubs(text, entities):
            return frozenset(ANSWERED_BY)
        of_theirs = asks_what_it_means(text) or speaks_to_the_hubs(text)
        taken = {"ask_hub"} if "topic" in entities and of_theirs else set()
        if "organisation" in entities:  # "does Porsche take part?", not its share price
            taken |= {"ask_is_partner", "ask_partners"}
        if "org_kind" in entities and _unfamiliar_words(tracker) == []:
            taken |= {"ask_partners"}  # "which fraunhofer institutes exactly?"
        return frozenset(taken)

    def routes(self, tracker: Tracker) -> bool:
        text, entities = _text_and_entities(tracker)
        if "person" in entities:
            return True
        if asks_whom_to_turn_to(text):
            return names_the_hubs(text, entities) or asks_someone_at_the_hubs(text)
        hubs_own = speaks_of_the_hubs(text, entities) or "topic" in entities
        both_in_their_words = asks_of_both_hubs(text) and _unfamiliar_words(tracker) == []
        # "pls give me both phone numbers", not the pizza place's number
        return asks_for_contact_details(text) and (hubs_own or both_in_their_words)
