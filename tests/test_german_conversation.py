"""German and English in one assistant, over REST with the real action server, Rasa
server, dispatcher and an SMTP server (aiosmtpd).

What the assistant says is checked against the domain's own response variants, so a
test fails when a reply comes in the wrong language, whatever the wording.
"""

from __future__ import annotations

import pytest

from harness.servers import Visitor
from tests.support.responses import says, spoken_in

pytestmark = pytest.mark.e2e

LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"


def test_a_german_enquiry_is_routed_in_german_with_german_facts(assistant):
    reply = Visitor(assistant).says(
        "Guten Tag, wir sind ein Stadtwerk und möchten Projekte zur Energiewende umsetzen. "
        "Wer ist bei Ihnen dafür zuständig?"
    )
    # the title as Germans write it in German answers
    assert "Dr. Eric Weber" in reply and WEBER_PHONE in reply and "Lindner" not in reply
    assert says(reply, "utter_route_focus", "de") and "Energie" in reply
    assert says(reply, "utter_offer_handoff", "de")


@pytest.mark.parametrize(
    "text, phone",
    [
        ("ansprechpartner fuer mikroelektronik", LINDNER_PHONE),
        ("wer kümmert sich um Hochleistungsrechnen?", LINDNER_PHONE),
        ("Wir suchen Bueroflaechen in Leipzig, an wen kann ich mich wenden?", WEBER_PHONE),
        ("kannst du mir sagen wer fuer e-health zustaendig ist", WEBER_PHONE),
        ("unser Smart-City-Reallabor sucht Partner, an wen wende ich mich?", WEBER_PHONE),
        ("Frau Meier hier, Herr Lindner tel bitte", LINDNER_PHONE),
        ("wir betreiben Halbleiterforschung, an wen wende ich mich?", LINDNER_PHONE),
        ("Wir planen eine Strom- und Gasversorgung fürs Quartier, wer berät uns?", WEBER_PHONE),
    ],
)
def test_umlauts_typed_as_ae_oe_ue_compounds_honorifics_and_du_are_understood(
    assistant, text, phone
):
    reply = Visitor(assistant).says(text)
    assert phone in reply and spoken_in(reply) == {"de"}, reply


def test_a_visitor_can_switch_language_mid_conversation(assistant):
    visitor = Visitor(assistant)
    assert says(visitor.says("Tell me about the Leipzig hub"), "utter_hub_overview", "en")
    switched = visitor.says("Bitte auf Deutsch")
    assert says(switched, "utter_language_switched", "de")
    assert says(switched, "utter_hub_overview", "de"), "the last answer again, in German"
    partners = visitor.says("und wer sind die Partner dort?")
    assert says(partners, "utter_partners_public", "de") and "Freistaat Sachsen" in partners
    # a word of no language keeps the conversation's language; after a question, a hub
    # alone asks it again of that hub
    dresden = visitor.says("Dresden")
    assert says(dresden, "utter_partners_academic", "de") and "TU Chemnitz" in dresden
    assert says(visitor.says("English please"), "utter_language_switched", "en")
    contact = visitor.says("and who is the contact there?")
    assert says(contact, "utter_contact_person", "en") and LINDNER_PHONE in contact


def test_the_page_language_is_the_first_language_and_words_still_win(assistant):
    on_german_page = Visitor(assistant, page_language="de-DE")
    reply = on_german_page.says("Dresden")
    assert LINDNER_PHONE in reply and says(reply, "utter_route_hub", "de")
    english_on_german_page = Visitor(assistant, page_language="de")
    reply = english_on_german_page.says("Who can I talk to about the Leipzig hub?")
    assert WEBER_PHONE in reply and says(reply, "utter_route_hub", "en")


def test_a_german_enquiry_is_handed_off_by_email(assistant, smtp):
    visitor = Visitor(assistant)
    words = (
        "Wir entwickeln Drucksensoren für Industrieanlagen und suchen einen Forschungspartner "
        "für ein gemeinsames Projekt"
    )
    routed = visitor.says(words)
    assert "Dr. Sebastian Lindner" in routed and says(routed, "utter_offer_handoff", "de")
    assert says(visitor.says("ja gerne"), "utter_ask_visitor_name", "de")
    assert says(visitor.says("Jürgen Müller"), "utter_ask_visitor_email", "de")
    assert says(
        visitor.says("juergen.mueller@sensorik.example"), "utter_ask_visitor_organisation", "de"
    )
    consent = visitor.says("keine")
    assert says(consent, "utter_consent_question", "de")
    summary = visitor.says("ja")
    assert says(summary, "utter_enquiry_summary", "de") and words in summary
    done = visitor.says("ja, bitte senden")
    [enquiry] = visitor.enquiries()
    assert says(done, "utter_enquiry_sent", "de") and enquiry.reference in done
    assert enquiry.language == "de" and enquiry.visitor_organisation == "-"
    mails = [m for m in smtp.mailbox.wait_for(2) if enquiry.reference in m["Subject"]]
    to_contact = next(m for m in mails if "lindner@example.org" in m["To"])
    to_visitor = next(m for m in mails if "juergen.mueller@sensorik.example" in m["To"])
    contact_text = to_contact.get_body(("plain",)).get_content()
    assert contact_text.startswith("Guten Tag Dr Sebastian Lindner") and words in contact_text
    assert to_visitor["Subject"].startswith("Ihre Anfrage") and words in to_visitor.get_content()


def test_an_english_visitor_with_a_german_name_and_company_stays_in_english(assistant):
    visitor = Visitor(assistant)
    visitor.says("We build smart grid software and need a pilot partner in Leipzig")
    assert says(visitor.says("yes"), "utter_ask_visitor_name", "en")
    assert says(visitor.says("Jürgen Müller"), "utter_ask_visitor_email", "en")
    visitor.says("jm@stadtwerke.example")
    assert says(visitor.says("Stadtwerke Leipzig GmbH"), "utter_consent_question", "en")
    assert says(visitor.says("cancel"), "utter_enquiry_cancelled", "en")


def test_a_first_message_too_short_to_be_sure_of_is_answered_in_the_language_it_leans_to(
    assistant,
):
    """On a messenger there is no page language: "moin" is German, though a word alone
    would not switch a conversation already in English."""
    greeted = Visitor(assistant)
    assert says(greeted.says("moin"), "utter_greet", "de")
    assert spoken_in(greeted.says("Dresden")) == {"de"}, "the conversation keeps its language"
    english = Visitor(assistant)
    assert says(english.says("hello"), "utter_greet", "en")
    assert spoken_in(english.says("moin")) == {"en"}
