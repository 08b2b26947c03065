"""The enquiry conversation: a form that collects name, e-mail, organisation, the
enquiry and explicit consent, shows a summary, and on confirmation stores the
enquiry (before anything else) for the dispatcher to hand over."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, Restarted, SlotSet
from sqlalchemy.exc import SQLAlchemyError

from actions.context import (
    contact_values,
    current_facts,
    hub_buttons,
    hub_in_message,
    language_of,
    latest_intent,
)
from bot import conversations, settings
from bot.enquiries import store
from bot.enquiries.addresses import Address, Reason, checked_address
from bot.enquiries.text import one_line, storable
from bot.handoff.render import routing_reason
from bot.knowledge.facts import BASE_LANGUAGE, Facts
from bot.numbers import number_text
from bot.routing import subject_name

log = logging.getLogger(__name__)

FORM_SLOTS = (
    "visitor_name",
    "visitor_email",
    "visitor_organisation",
    "enquiry_text",
    "consent",
    "enquiry_confirmed",
    "routing_kind",
    "routing_subject",
)
REFUSED_EMAIL = {  # what the visitor is told, by why their address was refused
    Reason.SYNTAX: "utter_invalid_email",
    Reason.CONTROL: "utter_invalid_email_control",
    Reason.DOMAIN_LITERAL: "utter_invalid_email_domain_literal",
    Reason.DOMAIN: "utter_invalid_email_domain",
    Reason.LOCAL_PART: "utter_invalid_email_local_part",
    Reason.TOO_LONG: "utter_invalid_email_too_long",
}
SPEAKERS = {"user": "visitor", "bot": "assistant"}  # by the Rasa event's kind
NO_ORGANISATION = {
    "no",
    "none",
    "-",
    "skip",
    "n/a",
    "nothing",
    "private",
    "privately",
    "keine",
    "nein",
}


def reset_form() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def _contact(facts: Facts, tracker: Tracker):
    hub = facts.hub(tracker.get_slot("hub"))
    return (facts.contact_for_hub(hub.key), hub) if hub else (None, None)


class ValidateEnquiryForm(FormValidationAction):
    def name(self) -> str:
        return "validate_enquiry_form"

    async def extract_hub(self, dispatcher, tracker, domain):
        """ "Can I leave a message for Dr Weber?": the request itself names the hub."""
        if tracker.get_slot("hub") or latest_intent(tracker) != "request_enquiry":
            return {}
        facts = await current_facts(dispatcher, tracker)
        hub = hub_in_message(tracker, facts) if facts else None
        return {"hub": hub.key} if hub else {}

    async def validate_hub(self, value, dispatcher, tracker, domain):
        facts = await current_facts(dispatcher, tracker)
        return {"hub": value if facts and facts.hub(value) else None}

    async def validate_visitor_name(self, value, dispatcher, tracker, domain):
        name = one_line(value)
        if not name or "?" in name or len(name.split()) > 8 or not any(c.isalpha() for c in name):
            dispatcher.utter_message(response="utter_invalid_name")
            return {"visitor_name": None}
        return {"visitor_name": name[:200]}

    async def validate_visitor_email(self, value, dispatcher, tracker, domain):
        """Kept as the visitor knows it (the summary shows it); the submit action stores
        and sends its IDNA form."""
        address = checked_address(value)
        if isinstance(address, Address):
            return {"visitor_email": address.shown}
        dispatcher.utter_message(
            response=REFUSED_EMAIL[address.reason], value=one_line(value)[:100]
        )
        return {"visitor_email": None}

    async def validate_visitor_organisation(self, value, dispatcher, tracker, domain):
        organisation = one_line(value)
        if organisation.lower().strip(".!") in NO_ORGANISATION:
            organisation = "-"
        return {"visitor_organisation": organisation[:200]}

    async def validate_enquiry_text(self, value, dispatcher, tracker, domain):
        text = storable(value).strip()
        if not any(c.isalnum() for c in text):
            dispatcher.utter_message(response="utter_enquiry_empty")
            return {"enquiry_text": None}
        if len(text) > settings.ENQUIRY_MAX_CHARS:
            dispatcher.utter_message(
                response="utter_enquiry_truncated",
                limit=number_text(settings.ENQUIRY_MAX_CHARS, language_of(tracker)),
            )
            text = text[: settings.ENQUIRY_MAX_CHARS]
        return {"enquiry_text": text}

    async def validate_consent(self, value, dispatcher, tracker, domain):
        if value is False:
            facts = await current_facts(dispatcher, tracker)
            contact, hub = _contact(facts, tracker) if facts else (None, None)
            if contact:
                dispatcher.utter_message(
                    response="utter_consent_declined", **contact_values(contact, hub)
                )
            return {"consent": False, "enquiry_confirmed": False}  # ends the form
        return {"consent": value}


class ActionAskHub(Action):
    """The form's question for the hub, with one button per hub of the knowledge base
    (Rasa asks with ``action_ask_<slot>`` when the domain lists one)."""

    def name(self) -> str:
        return "action_ask_hub"

    async def run(self, dispatcher, tracker, domain):
        facts = await current_facts(dispatcher, tracker)
        buttons = hub_buttons(facts.hubs) if facts else []  # apologised for; ask anyway
        dispatcher.utter_message(response="utter_ask_hub", buttons=buttons)
        return []


class _AskNamingTheContact(Action, ABC):
    """A form question that names the contact the enquiry will go to."""

    response: str

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher, tracker, domain):
        facts = await current_facts(dispatcher, tracker)
        contact, hub = _contact(facts, tracker) if facts else (None, None)
        if contact:
            dispatcher.utter_message(
                response=self.response,
                privacy_url=settings.get().privacy_notice_url,
                **contact_values(contact, hub),
            )
        return []


class ActionAskVisitorName(Action):
    """The form's first question, after saying whom the enquiry goes to: a visitor who
    asked to leave a message for Dr Weber sees at once that it reaches him."""

    def name(self) -> str:
        return "action_ask_visitor_name"

    async def run(self, dispatcher, tracker, domain):
        facts = await current_facts(dispatcher, tracker)
        contact, hub = _contact(facts, tracker) if facts else (None, None)
        if contact and tracker.get_slot("requested_slot") != "visitor_name":
            dispatcher.utter_message(
                response="utter_enquiry_goes_to", **contact_values(contact, hub)
            )
        dispatcher.utter_message(response="utter_ask_visitor_name")
        return []


class ActionAskConsent(_AskNamingTheContact):
    response = "utter_consent_question"

    def name(self) -> str:
        return "action_ask_consent"


class ActionAskEnquiryConfirmed(_AskNamingTheContact):
    response = "utter_enquiry_summary"

    def name(self) -> str:
        return "action_ask_enquiry_confirmed"


def _offered_buttons(bot_event: dict) -> dict[str, str]:
    """Title by payload of the buttons a bot message offered."""
    buttons = (bot_event.get("data") or {}).get("buttons") or []
    return {
        button["payload"]: button["title"]
        for button in buttons
        if isinstance(button, dict)
        and isinstance(button.get("payload"), str)
        and isinstance(button.get("title"), str)
    }


def _line(who: str, text: str, timestamp: float | None) -> dict:
    at = datetime.fromtimestamp(timestamp or 0, tz=timezone.utc)
    return {"who": who, "text": storable(text), "at": at.isoformat(timespec="seconds")}


def transcript(tracker: Tracker) -> list[dict]:
    """The conversation as the visitor saw it: a button they clicked is its title, not
    the payload Rasa records as their text (one typed that no button offered stays)."""
    lines, offered = [], {}
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind == "bot":
            offered = _offered_buttons(event) or offered
        if kind in SPEAKERS and text:
            shown = offered.get(text, text) if kind == "user" else text
            lines.append(_line(SPEAKERS[kind], shown, event.get("timestamp")))
    return lines[-conversations.TRANSCRIPT_LINES :]


class ActionSubmitEnquiry(Action):
    """Stores the confirmed enquiry first; the dispatcher sends the e-mails."""

    def name(self) -> str:
        return "action_submit_enquiry"

    async def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("consent") is False:
            return reset_form()  # already told why nothing was stored
        if tracker.get_slot("enquiry_confirmed") is not True:
            dispatcher.utter_message(response="utter_enquiry_not_sent")
            return reset_form()
        facts = await current_facts(dispatcher, tracker)
        contact, hub = _contact(facts, tracker) if facts else (None, None)
        if contact is None:
            return reset_form()
        kind = tracker.get_slot("routing_kind") or "chosen"
        # the contact reads topic and reason in the language of the contact e-mails
        mail_language = settings.get().contact_mail_language
        for_contact = facts.in_language(mail_language)
        hub_for_contact = for_contact.hub(hub.key)
        subject = (
            subject_name(for_contact, kind, tracker.get_slot("routing_subject"))
            or hub_for_contact.name
        )
        shown_email = tracker.get_slot("visitor_email")
        address = checked_address(shown_email)
        new = store.NewEnquiry(
            conversation_id=tracker.sender_id,
            channel=conversations.channel_of(tracker.sender_id),
            visitor_name=tracker.get_slot("visitor_name"),
            # a slot the form did not check is stored as it is; its e-mail fails visibly
            visitor_email=address.stored if isinstance(address, Address) else shown_email,
            visitor_organisation=tracker.get_slot("visitor_organisation") or "-",
            text=tracker.get_slot("enquiry_text"),
            # the person as the knowledge base names them ("Dr", not the German "Dr.")
            contact=facts.in_language(BASE_LANGUAGE).contact(contact.key),
            hub=hub.key,
            topic=subject,
            routing_reason=routing_reason(
                kind,
                subject,
                hub_for_contact.name,
                for_contact.contact(contact.key).name,
                mail_language,
            ),
            language=language_of(tracker),
            consent_notice_version=settings.get().privacy_notice_version,
            transcript=transcript(tracker),
        )
        try:
            stored = await asyncio.get_running_loop().run_in_executor(None, store.submit, new)
        except (SQLAlchemyError, OSError):
            log.exception("enquiry could not be stored")
            dispatcher.utter_message(
                response="utter_enquiry_failed", **contact_values(contact, hub)
            )
            return []  # the visitor's answers stay in the slots for another try
        dispatcher.utter_message(
            response="utter_enquiry_sent",
            reference=stored.reference,
            visitor_email=shown_email,
            **contact_values(contact, hub),
        )
        return reset_form()


class ActionCancelEnquiry(Action):
    def name(self) -> str:
        return "action_cancel_enquiry"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_enquiry_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_form()]


class ActionDeleteMyData(Action):
    """Erasure on request: this conversation's enquiries, transcripts and e-mails here;
    the Rasa server's tracker store then deletes the conversation itself, seeing this
    action and its restart in the turn (nlu/server/tracker_store.py)."""

    def name(self) -> str:
        return conversations.ERASE_ACTION

    async def run(self, dispatcher, tracker, domain):
        loop = asyncio.get_running_loop()
        try:
            count = await loop.run_in_executor(
                None, store.delete_conversation_data, tracker.sender_id
            )
        except SQLAlchemyError:
            log.exception("erasure failed")
            dispatcher.utter_message(response="utter_knowledge_unavailable")
            return []
        dispatcher.utter_message(response="utter_data_deleted", count=count)
        if conversations.channel_of(tracker.sender_id) == "socketio":
            dispatcher.utter_message(json_message=conversations.WIDGET_FORGETS)
        return [Restarted()]
