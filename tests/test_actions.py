"""The Rasa SDK actions, run against real trackers and the knowledge base in SQLite."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.context
from actions.enquiry import ActionAskVisitorName, ValidateEnquiryForm
from actions.followups import ActionDefaultFallback, last_answer
from actions.hubs import (
    ActionAnswerHub,
    ActionAnswerLocation,
    ActionAnswerTrails,
    ActionCompareHubs,
)
from actions.language import ActionRepeatAnswer
from actions.partners import ActionAnswerIsPartner, ActionAnswerPartners
from actions.programmes import ActionAnswerProgramme
from actions.routing import (
    ActionAnswerContact,
    ActionAnswerUnknown,
    ActionDecline,
    ActionRouteEnquiry,
    ActionUncertain,
)
from bot.asked import COMPOUND, UNFAMILIAR_WORDS
from tests.support import domain

DOMAIN = domain.merged()

LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"


@pytest.fixture(autouse=True)
def knowledge_base(loaded_kb, monkeypatch):
    monkeypatch.setattr(actions.context, "knowledge_base", loaded_kb)


def tracker(intent: str, entities: dict | None = None, slots: dict | None = None) -> Tracker:
    return Tracker(
        sender_id="test",
        slots={"hub": None, "topic": None, **(slots or {})},
        latest_message={
            "text": "...",
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def slots_set(events) -> dict:
    """The slots an answer sets, but for the question it remembers (tested on its own)."""
    return {
        e["name"]: e["value"]
        for e in events
        if e["event"] == "slot" and e["name"] != actions.context.LAST_QUESTION_SLOT
    }


def run_on(action, asked: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, asked, DOMAIN))
    return dispatcher.messages, slots_set(events)


def run(action, intent, entities=None, slots=None):
    return run_on(action, tracker(intent, entities, slots))


def said(messages) -> list[str]:
    return [m["response"] for m in messages]


def values(messages, response) -> dict:
    return next(m for m in messages if m["response"] == response)


def test_hub_overview_gives_strategy_focus_and_contact_and_remembers_the_hub():
    messages, slots = run(ActionAnswerHub(), "ask_hub", {"hub": "leipzig"})
    overview = values(messages, "utter_hub_overview")
    assert overview["topics"] == "energy, smart cities, e-health and cross-cutting technologies"
    assert overview["approach"] == "practical applications"
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE
    assert slots == {"hub": "leipzig"}


def test_its_partners_and_its_contact_refer_to_the_hub_in_the_conversation():
    messages, _ = run(ActionAnswerPartners(), "ask_partners", slots={"hub": "leipzig"})
    assert "Porsche" in values(messages, "utter_partners_business")["partners"]
    assert {m["hub_name"] for m in messages if "hub_name" in m} == {
        "Leipzig smart infrastructure hub"
    }
    messages, _ = run(ActionAnswerContact(), "ask_contact", slots={"hub": "leipzig"})
    assert values(messages, "utter_contact_person")["contact_name"] == "Dr Eric Weber"


def test_a_hub_named_through_a_topic_counts_as_the_hub():
    messages, slots = run(ActionAnswerContact(), "ask_contact", {"topic": "sensors"})
    assert values(messages, "utter_contact_person")["contact_phone"] == LINDNER_PHONE
    assert slots == {"hub": "dresden"}


def test_partners_by_kind():
    messages, _ = run(
        ActionAnswerPartners(), "ask_partners", {"hub": "dresden", "org_kind": "research_institute"}
    )
    assert said(messages)[0] == "utter_partners_research_institute"
    assert values(messages, "utter_partners_research_institute")["partners"] == (
        "Fraunhofer ENAS, Fraunhofer IPMS and Fraunhofer IWU"
    )
    messages, _ = run(
        ActionAnswerPartners(), "ask_partners", {"hub": "dresden", "org_kind": "public"}
    )
    assert "utter_no_partners_of_kind" in said(messages)


def test_a_kind_the_hub_in_context_lacks_is_answered_for_the_other_hub():
    messages, slots = run(
        ActionAnswerPartners(),
        "ask_partners",
        {"org_kind": "research_institute"},
        slots={"hub": "leipzig"},
    )
    institutes = values(messages, "utter_partners_research_institute")
    assert institutes["hub_name"] == "Dresden smart systems hub"
    assert "utter_no_partners_of_kind" not in said(messages)


def test_location_of_one_hub_or_of_both():
    messages, _ = run(ActionAnswerLocation(), "ask_location", {"hub": "dresden"})
    assert values(messages, "utter_hub_location")["location"] == "on the campus of TU Dresden"
    messages, _ = run(ActionAnswerLocation(), "ask_location")
    assert said(messages).count("utter_hub_location") == 2


def test_partners_of_both_hubs_list_both_and_both_contacts():
    messages, _ = run(ActionAnswerPartners(), "ask_partners")
    hubs = {
        m["hub_name"]
        for m in messages
        if m["response"].startswith("utter_partners_") and "hub_name" in m
    }
    assert hubs == {"Dresden smart systems hub", "Leipzig smart infrastructure hub"}
    assert "utter_contacts_both" in said(messages)


def test_is_x_a_partner_known_alias_and_unknown_name():
    messages, _ = run(
        ActionAnswerIsPartner(), "ask_is_partner", {"organisation": "fraunhofer_ipms"}
    )
    assert values(messages, "utter_is_partner_yes")["hub_name"] == "Dresden smart systems hub"
    messages, _ = run(
        ActionAnswerIsPartner(), "ask_is_partner", {"org_mention": "Leipziger Gruppe"}
    )
    assert values(messages, "utter_is_partner_yes")["organisation"] == "Leipziger Gruppe"
    messages, slots = run(ActionAnswerIsPartner(), "ask_is_partner", {"org_mention": "Siemens"})
    assert said(messages) == ["utter_is_partner_no"]
    assert values(messages, "utter_is_partner_no")["organisation"] == "Siemens" and slots == {}


def test_funding_names_spinlab_and_the_planned_fund_with_the_leipzig_contact():
    messages, _ = run(ActionAnswerProgramme(), "ask_funding")
    assert said(messages) == [
        "utter_programme_now",
        "utter_programme_medium_term",
        "utter_contact_line",
    ]
    assert "venture capital fund" in values(messages, "utter_programme_medium_term")["description"]


def test_future_plans_list_what_is_planned_and_both_contacts():
    messages, _ = run(ActionAnswerProgramme(), "ask_future_plans")
    assert "utter_programme_long_term" in said(messages)
    assert "utter_programme_now" not in said(messages)
    assert said(messages)[-1] == "utter_contacts_both"


def test_the_website_is_not_invented_before_launch():
    messages, _ = run(ActionAnswerProgramme(), "ask_website")
    assert said(messages) == ["utter_website_not_launched", "utter_contacts_both"]


def test_trails_belong_to_dresden():
    messages, slots = run(ActionAnswerTrails(), "ask_trails")
    assert said(messages) == ["utter_trails", "utter_contact_line"] and slots == {"hub": "dresden"}


def test_compare_gives_both_approaches():
    messages, _ = run(ActionCompareHubs(), "compare_hubs")
    compare = values(messages, "utter_compare_hubs")
    assert (compare["dresden_approach"], compare["leipzig_approach"]) == (
        "basic research",
        "practical applications",
    )


def test_routing_by_need_names_one_contact_with_reason():
    messages, slots = run(ActionRouteEnquiry(), "ask_routing", {"topic": "energy"})
    route = values(messages, "utter_route_focus")
    assert (route["contact_name"], route["contact_phone"], route["subject"]) == (
        "Dr Eric Weber",
        WEBER_PHONE,
        "energy",
    )
    assert slots == {
        "hub": "leipzig",
        "topic": None,
        "routing_kind": "focus",
        "routing_subject": "energy",
    }
    assert said(messages)[-1] == "utter_offer_handoff"


def test_a_routing_message_that_describes_the_need_becomes_the_enquiry_draft():
    long_message = "we build smart grid software for municipal utilities and need a partner"
    dispatcher = CollectingDispatcher()
    message = tracker("ask_routing", {"topic": "energy"})
    message.latest_message["text"] = long_message
    events = asyncio.run(ActionRouteEnquiry().run(dispatcher, message, {}))
    assert {"event": "slot", "name": "enquiry_text", "value": long_message, "timestamp": None} in [
        {**e, "timestamp": None} for e in events
    ]


def test_routing_without_hub_asks_with_buttons_then_uses_the_answer():
    messages, slots = run(ActionRouteEnquiry(), "ask_routing")
    assert said(messages) == ["utter_ask_which_hub"] and slots == {"hub": None, "topic": None}
    messages, _ = run(ActionRouteEnquiry(), "inform", {"hub": "dresden"})
    assert values(messages, "utter_route_hub")["contact_phone"] == LINDNER_PHONE


def test_a_topic_both_hubs_could_cover_is_kept_while_asking(monkeypatch):
    from bot.routing import Clarification

    facts = actions.context.knowledge_base.facts()
    monkeypatch.setattr(
        "actions.routing.route", lambda need, _facts: Clarification(facts.hubs, "energy")
    )
    messages, slots = run(ActionRouteEnquiry(), "ask_routing", {"topic": "energy"})
    assert said(messages) == ["utter_ask_which_hub_for_subject"]
    assert slots == {"hub": None, "topic": "energy"}


# What the domain used to spell out six times; now built from the knowledge base.
HUB_BUTTONS = {
    "en": [
        {"title": "Dresden: smart systems, basic research", "payload": '/inform{"hub":"dresden"}'},
        {
            "title": "Leipzig: smart infrastructure, practical applications",
            "payload": '/inform{"hub":"leipzig"}',
        },
    ],
    "de": [
        {
            "title": "Dresden: Smart Systems, Grundlagenforschung",
            "payload": '/inform{"hub":"dresden"}',
        },
        {
            "title": "Leipzig: Smart Infrastructure, praktische Anwendungen",
            "payload": '/inform{"hub":"leipzig"}',
        },
    ],
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_which_hub_question_has_the_hub_buttons_of_the_knowledge_base(language, monkeypatch):
    from actions.enquiry import ActionAskHub
    from bot.routing import Clarification

    messages, _ = run(ActionRouteEnquiry(), "ask_routing", slots={"language": language})
    assert values(messages, "utter_ask_which_hub")["buttons"] == HUB_BUTTONS[language]
    messages, _ = run(ActionAskHub(), "request_enquiry", slots={"language": language})
    assert said(messages) == ["utter_ask_hub"]
    assert messages[0]["buttons"] == HUB_BUTTONS[language]
    monkeypatch.setattr(
        "actions.routing.route", lambda need, facts: Clarification(facts.hubs, "energy")
    )
    messages, _ = run(ActionRouteEnquiry(), "ask_routing", slots={"language": language})
    asked = values(messages, "utter_ask_which_hub_for_subject")
    assert asked["buttons"] == HUB_BUTTONS[language]


def test_a_pending_topic_is_kept_when_the_visitor_picks_the_hub():
    messages, _ = run(
        ActionRouteEnquiry(), "inform", {"hub": "leipzig"}, slots={"topic": "ehealth"}
    )
    assert values(messages, "utter_route_focus")["subject"] == "e-health"


def test_uncertain_message_with_a_hub_topic_is_routed_otherwise_declined():
    messages, _ = run(ActionUncertain(), "nlu_fallback", {"topic": "microelectronics"})
    assert values(messages, "utter_route_focus")["contact_name"] == "Dr Sebastian Lindner"
    messages, _ = run(ActionUncertain(), "nlu_fallback")
    assert said(messages) == ["utter_out_of_scope"]
    messages, _ = run(ActionUncertain(), "nlu_fallback", {"hub": "dresden"})
    assert said(messages) == ["utter_out_of_scope"]


def test_an_unreachable_database_gets_an_apology_not_a_crash(monkeypatch, tmp_path):
    from bot import db
    from bot.knowledge.store import KnowledgeBase

    empty = KnowledgeBase(db.session_factory(f"sqlite:///{tmp_path / 'empty.db'}"))
    monkeypatch.setattr(actions.context, "knowledge_base", empty)
    messages, _ = run(ActionAnswerContact(), "ask_contact", {"hub": "dresden"})
    assert said(messages) == ["utter_knowledge_unavailable"]


def test_every_response_an_action_uses_exists_in_the_domain():
    import re
    from pathlib import Path

    from bot.knowledge.facts import ORGANISATION_KINDS, TIMEFRAMES
    from bot.routing import REASON_KINDS

    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text() for p in (root / "actions").glob("*.py"))
    used = set(re.findall(r'"(utter_[a-z_]+)"', source))
    used |= {f"utter_partners_{kind}" for kind in ORGANISATION_KINDS}
    used |= {f"utter_programme_{timeframe}" for timeframe in TIMEFRAMES}
    used |= {f"utter_route_{kind}" for kind in REASON_KINDS}
    assert used - set(DOMAIN["responses"]) == set()


def test_the_action_server_registers_every_custom_action_of_the_domain():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(DOMAIN["actions"]) <= set(executor.actions)


def test_in_a_german_conversation_facts_and_lists_are_german():
    messages, _ = run(ActionAnswerHub(), "ask_hub", {"hub": "leipzig"}, {"language": "de"})
    overview = values(messages, "utter_hub_overview")
    assert overview["topics"].endswith(" und Querschnittstechnologien"), overview["topics"]
    assert overview["hub_name"] == "Smart Infrastructure Hub Leipzig"
    assert WEBER_PHONE in values(messages, "utter_contact_line")["contact_phone"]
    messages, _ = run(
        ActionAnswerPartners(), "ask_partners", {"hub": "leipzig"}, {"language": "de"}
    )
    public = values(messages, "utter_partners_public")["partners"]
    assert public == "Freistaat Sachsen und Stadt Leipzig"


def test_every_programme_question_is_asked_by_an_intent_of_the_domain():
    from actions.programmes import QUESTION_OF_INTENT
    from bot.knowledge.facts import PROGRAMME_QUESTIONS

    assert sorted(QUESTION_OF_INTENT.values()) == sorted(PROGRAMME_QUESTIONS)
    assert set(QUESTION_OF_INTENT) <= set(DOMAIN["intents"])


def test_a_renamed_programme_keeps_answering_its_questions(kb_copy, sqlite_factory, monkeypatch):
    from bot.knowledge.store import KnowledgeBase, load_file

    text = kb_copy.read_text(encoding="utf-8")
    kb_copy.write_text(text.replace("- key: venture_fund\n", "- key: seed_fund\n"), "utf-8")
    load_file(kb_copy, sqlite_factory)
    monkeypatch.setattr(actions.context, "knowledge_base", KnowledgeBase(sqlite_factory))
    messages, _ = run(ActionAnswerProgramme(), "ask_funding")
    assert said(messages) == [
        "utter_programme_now",
        "utter_programme_medium_term",
        "utter_contact_line",
    ]
    assert "venture capital fund" in values(messages, "utter_programme_medium_term")["description"]


@pytest.mark.parametrize("language", ["en", "de"])
def test_answers_about_both_hubs_fill_every_placeholder_named_after_a_hub(language):
    """utter_compare_hubs and utter_contacts_both name hub keys ({dresden_contact});
    a hub renamed in the knowledge base must not leave them unfilled."""
    import re

    slots = {"language": language}
    messages = run(ActionCompareHubs(), "compare_hubs", slots=slots)[0]
    messages += run(ActionAnswerContact(), "ask_contact", slots=slots)[0]
    assert {"utter_compare_hubs", "utter_contacts_both"} <= set(said(messages))
    for message in messages:
        for variant in DOMAIN["responses"][message["response"]]:
            placeholders = set(re.findall(r"{(\w+)}", variant["text"]))
            assert placeholders <= set(message), (message["response"], placeholders - set(message))


def test_a_detail_the_facts_lack_is_said_plainly_with_the_contact_of_the_hub_named():
    messages, slots = run(ActionAnswerUnknown(), "ask_unknown_fact", {"programme": "spinlab"})
    assert said(messages) == ["utter_fact_unknown", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE
    assert slots == {"hub": "leipzig"}


def test_a_detail_the_facts_lack_about_no_hub_names_both_contacts():
    unnamed = tracker("ask_unknown_fact")
    unnamed.latest_message["text"] = "what are your opening hours?"
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerUnknown().run(dispatcher, unnamed, DOMAIN))
    messages, slots = dispatcher.messages, slots_set(events)
    assert said(messages) == ["utter_fact_unknown", "utter_contacts_both"]
    assert slots == {}


def test_the_dresden_leipzig_hub_as_a_whole_is_described_as_both_hubs():
    both = tracker("ask_hub", {"hub": "dresden"})
    both.latest_message["entities"].append({"entity": "hub", "value": "leipzig"})
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerHub().run(dispatcher, both, DOMAIN))
    assert said(dispatcher.messages) == ["utter_compare_hubs", "utter_contacts_both"]


def asked(text: str, intent: str, entities: dict | None = None, slots=None) -> Tracker:
    question = tracker(intent, entities, slots)
    question.latest_message["text"] = text
    return question


def remembered(action, question: Tracker) -> dict:
    """The last_question slot as ``action`` leaves it after answering ``question``."""
    events = asyncio.run(action.run(CollectingDispatcher(), question, DOMAIN))
    return next(e["value"] for e in events if e["name"] == actions.context.LAST_QUESTION_SLOT)


def test_after_a_switch_of_language_the_last_answer_is_given_again():
    question = asked("what is spinlab", "ask_spinlab", {"programme": "spinlab"})
    switched = asked("bitte auf Deutsch", "switch_language", slots={"language": "de"})
    assert last_answer(switched) is None  # nothing answered yet: nothing to repeat
    switched.slots["last_question"] = remembered(ActionAnswerProgramme(), question)
    assert last_answer(switched)[0] == "action_answer_programme"
    messages, slots = run_on(ActionRepeatAnswer(), switched)
    assert said(messages) == ["utter_programme_now", "utter_contact_line"]
    assert "HHL-Accelerator" in values(messages, "utter_programme_now")["name"]
    assert slots == {"hub": "leipzig"}


@pytest.mark.parametrize(
    "follow_up, intent, entities",
    [
        ("and Leipzig?", "inform", {"hub": "leipzig"}),
        ("no wait, I meant Leipzig", "out_of_scope", {"hub": "leipzig"}),
        ("sorry, the other hub", "nlu_fallback", {}),
        ("und wie sieht es in Leipzig aus?", "nlu_fallback", {"hub": "leipzig"}),
        (
            "oh wait, my mistake, I need this for Leipzig actually",
            "out_of_scope",
            {"hub": "leipzig"},
        ),
        ("und was ist mit dem leipziger?", "ask_is_partner", {"hub": "leipzig"}),
    ],
)
def test_a_follow_up_asks_the_last_question_again_of_its_new_subject(follow_up, intent, entities):
    question = asked("who are the partners in dresden?", "ask_partners", {"hub": "dresden"})
    later = asked(follow_up, intent, entities, slots={"hub": "dresden"})
    later.slots["last_question"] = remembered(ActionAnswerPartners(), question)
    action = {
        "inform": ActionRouteEnquiry,
        "nlu_fallback": ActionUncertain,
        "ask_is_partner": ActionAnswerIsPartner,
    }.get(intent, ActionDecline)()
    messages, slots = run_on(action, later)
    hubs = {m["hub_name"] for m in messages if "partners" in m}
    assert hubs == {"Leipzig smart infrastructure hub"} and slots == {"hub": "leipzig"}
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE


def test_a_follow_up_of_a_question_the_facts_cannot_answer_is_still_unknown():
    question = asked("opening hours of the dresden hub?", "ask_hub", {"hub": "dresden"})
    assert said(run_on(ActionAnswerHub(), question)[0]) == [
        "utter_fact_unknown",
        "utter_contact_line",
    ]
    later = asked("and leipzig?", "inform", {"hub": "leipzig"})
    later.slots["last_question"] = remembered(ActionAnswerHub(), question)
    messages, _ = run_on(ActionRouteEnquiry(), later)
    assert said(messages) == ["utter_fact_unknown", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE


def test_a_hub_named_without_a_question_before_is_routed():
    messages, _ = run_on(ActionRouteEnquiry(), asked("leipzig", "inform", {"hub": "leipzig"}))
    assert said(messages) == ["utter_route_hub", "utter_offer_handoff"]


@pytest.mark.parametrize(
    "text, intent, entities",
    [
        ("what is Dr Weber's e-mail address?", "ask_contact", {"person": "eric_weber"}),
        ("wie lange dauert das spinlab programm", "ask_spinlab", {"programme": "spinlab"}),
        ("what does a desk in the leipzig hub cost", "ask_office_space", {"hub": "leipzig"}),
        ("office hours of dr weber?", "out_of_scope", {"person": "eric_weber"}),
    ],
)
def test_a_detail_the_facts_never_give_is_unknown_not_another_fact(text, intent, entities):
    action = {"ask_contact": ActionAnswerContact, "out_of_scope": ActionDecline}.get(
        intent, ActionAnswerProgramme
    )()
    messages, _ = run_on(action, asked(text, intent, entities))
    assert said(messages) == ["utter_fact_unknown", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE


def test_when_a_plan_comes_is_not_known_exactly_but_its_timeframe_is():
    question = asked("when is the venture capital fund coming?", "ask_funding")
    messages, _ = run_on(ActionAnswerProgramme(), question)
    assert said(messages)[0] == "utter_fact_unknown_exactly"
    assert "utter_programme_medium_term" in said(messages)


@pytest.mark.parametrize(
    "text, entities",
    [
        ("when does the zoo in Leipzig open on sunday?", {"hub": "leipzig"}),
        ("what is the infineon share price", {"organisation": "infineon"}),
        ("what is the phone number of the best pizza place in leipzig", {"hub": "leipzig"}),
    ],
)
def test_off_topic_naming_a_city_or_a_partner_stays_declined(text, entities):
    messages, _ = run_on(ActionDecline(), asked(text, "out_of_scope", entities))
    assert said(messages) == ["utter_out_of_scope"]


@pytest.mark.parametrize(
    "text, entities, expected",
    [
        (
            "I lost Dr Weber's card, how do I reach him",
            {"person": "eric_weber"},
            "utter_route_person",
        ),
        (
            "who do i call about the iot stuff in dresden",
            {"topic": "enabling_iot", "hub": "dresden"},
            "utter_route_focus",
        ),
        ("any hotline for the hub?", {}, "utter_ask_which_hub"),
    ],
)
def test_off_topic_that_asks_how_to_reach_the_hubs_is_routed(text, entities, expected):
    messages, _ = run_on(ActionDecline(), asked(text, "out_of_scope", entities))
    assert said(messages)[0] == expected


def test_whom_to_ask_about_something_of_no_hub_stays_declined_unless_unsure():
    text = "who should I talk to about my insurance"
    assert said(run_on(ActionDecline(), asked(text, "out_of_scope"))[0]) == ["utter_out_of_scope"]
    hotline = asked("is there a hotline or some phone number", "nlu_fallback")
    assert said(run_on(ActionUncertain(), hotline)[0]) == ["utter_ask_which_hub"]


def test_every_question_of_a_message_is_answered_in_one_reply():
    question = asked(
        "Where is the Dresden hub based and who is the contact person there?",
        "ask_contact",
        {"hub": "dresden"},
    )
    messages, _ = run_on(ActionAnswerContact(), question)
    assert said(messages) == ["utter_contact_person", "utter_hub_location", "utter_contact_line"]
    founders = asked(
        "we need office space and funding in leipzig", "ask_funding", {"hub": "leipzig"}
    )
    answered = said(run_on(ActionAnswerProgramme(), founders)[0])
    assert answered.count("utter_contact_line") == 1  # one contact line, not one per answer
    programmes = [m["name"] for m in run_on(ActionAnswerProgramme(), founders)[0] if "name" in m]
    assert any("rental" in name.lower() for name in programmes)


def test_partners_of_several_kinds_and_several_organisations_are_all_answered():
    both = tracker("ask_partners", {"hub": "dresden", "org_kind": "academic"})
    both.latest_message["entities"].append({"entity": "org_kind", "value": "research_institute"})
    messages, _ = run_on(ActionAnswerPartners(), both)
    assert {"utter_partners_academic", "utter_partners_research_institute"} <= set(said(messages))
    two = tracker("ask_is_partner", {"organisation": "tu_chemnitz"})
    two.latest_message["entities"].append({"entity": "organisation", "value": "htw_dresden"})
    messages, _ = run_on(ActionAnswerIsPartner(), two)
    named = [m["organisation"] for m in messages if m["response"] == "utter_is_partner_yes"]
    assert (
        named == ["TU Chemnitz", "HTW Dresden"] and said(messages).count("utter_contact_line") == 1
    )
    kind_only = tracker("ask_is_partner", {"org_kind": "research_institute"})
    assert "utter_partners_research_institute" in said(
        run_on(ActionAnswerIsPartner(), kind_only)[0]
    )


def test_a_detail_of_something_not_the_hubs_is_declined():
    off_topic = tracker("ask_unknown_fact")
    off_topic.latest_message["text"] = "any concerts in munich this weekend?"
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerUnknown().run(dispatcher, off_topic, DOMAIN))
    assert said(dispatcher.messages) == ["utter_out_of_scope"]


@pytest.mark.parametrize(
    "action, text, intent, entities",
    [
        (
            ActionUncertain,
            "what kind of start-ups is leipzig looking for",
            "nlu_fallback",
            {"hub": "leipzig"},
        ),
        (ActionDecline, "whats meant by enabling IoT", "out_of_scope", {"topic": "enabling_iot"}),
        (
            ActionRouteEnquiry,
            "what means smart infrastructure for the leipzig hub",
            "inform",
            {"hub": "leipzig"},
        ),
    ],
)
def test_a_question_the_classifier_could_not_place_is_answered_as_its_words_ask(
    action, text, intent, entities
):
    messages, _ = run_on(action(), asked(text, intent, entities))
    assert said(messages) == ["utter_hub_overview", "utter_contact_line"]


def test_the_words_of_an_off_topic_message_about_a_city_are_no_question_of_the_facts():
    messages, _ = run_on(
        ActionDecline(),
        asked("what kind of food is typical in leipzig", "out_of_scope", {"hub": "leipzig"}),
    )
    assert said(messages) == ["utter_out_of_scope"]


def test_a_visitor_leaving_a_message_for_a_person_is_told_it_goes_to_them():
    request = asked(
        "can I leave a message for Dr Weber?", "request_enquiry", {"person": "eric_weber"}
    )
    extracted = asyncio.run(
        ValidateEnquiryForm().extract_hub(CollectingDispatcher(), request, DOMAIN)
    )
    assert extracted == {"hub": "leipzig"}
    request.slots.update(extracted)
    messages, _ = run_on(ActionAskVisitorName(), request)
    assert said(messages) == ["utter_enquiry_goes_to", "utter_ask_visitor_name"]
    assert values(messages, "utter_enquiry_goes_to")["contact_phone"] == WEBER_PHONE


def test_a_detail_asked_on_in_a_conversation_about_a_hub_is_that_hubs():
    later = asked(
        "and is there parking on campus when i come over", "out_of_scope", slots={"hub": "dresden"}
    )
    messages, _ = run_on(ActionDecline(), later)
    assert said(messages) == ["utter_fact_unknown", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == LINDNER_PHONE
    alone = asked("is there parking near the football stadium", "out_of_scope")
    assert said(run_on(ActionDecline(), alone)[0]) == ["utter_out_of_scope"]


def test_a_named_programme_does_not_stand_in_for_a_question_it_does_not_answer():
    founders = asked(
        "the venture capital fund and office space?",
        "ask_office_space",
        {"programme": "venture_fund"},
    )
    names = [m.get("name", "") for m in run_on(ActionAnswerProgramme(), founders)[0]]
    assert any("rental" in name for name in names)


def test_a_question_taken_for_an_unknown_detail_that_asks_a_known_one_is_answered():
    known = asked("welche themen deckt dresden ab?", "ask_unknown_fact", {"hub": "dresden"})
    assert said(run_on(ActionAnswerUnknown(), known)[0]) == [
        "utter_hub_overview",
        "utter_contact_line",
    ]
    unknown = asked(
        "welche themen haben die workshops in dresden?", "ask_unknown_fact", {"hub": "dresden"}
    )
    assert said(run_on(ActionAnswerUnknown(), unknown)[0])[0] == "utter_fact_unknown"


def with_hubs(question: Tracker, *hubs: str) -> Tracker:
    question.latest_message["entities"] += [{"entity": "hub", "value": hub} for hub in hubs]
    return question


@pytest.mark.parametrize(
    "action, question",
    [
        (
            ActionRouteEnquiry,
            with_hubs(
                asked("can u give me both numbers, dresden AND leipzig", "inform"),
                "dresden",
                "leipzig",
            ),
        ),
        (
            ActionAnswerContact,
            asked("and who is the joint contact person?", "ask_contact", slots={"hub": "dresden"}),
        ),
        (
            ActionAnswerContact,
            asked("Bitte sämtliche Telefonnummern", "ask_contact", slots={"hub": "leipzig"}),
        ),
    ],
)
def test_both_numbers_asked_for_are_both_whatever_hub_the_conversation_was_about(action, question):
    messages, _ = run_on(action(), question)
    assert said(messages) == ["utter_contacts_both"]
    both = values(messages, "utter_contacts_both")
    assert (both["dresden_phone"], both["leipzig_phone"]) == (LINDNER_PHONE, WEBER_PHONE)
    one = asked(
        "and all the partners there?", "ask_contact", {"hub": "leipzig"}, {"hub": "dresden"}
    )
    assert said(run_on(ActionAnswerContact(), one)[0]) == ["utter_contact_person"]


@pytest.mark.parametrize(
    "action, text, intent",
    [
        (ActionDecline, "does porsche take part in this or not", "out_of_scope"),
        (ActionAnswerUnknown, "Macht Porsche da mit oder nur die Hochschulen?", "ask_unknown_fact"),
        (ActionUncertain, "is porsche on board", "nlu_fallback"),
    ],
)
def test_whether_a_named_organisation_takes_part_is_answered_whatever_the_intent(
    action, text, intent
):
    messages, _ = run_on(action(), asked(text, intent, {"organisation": "porsche"}))
    assert said(messages) == ["utter_is_partner_yes", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == WEBER_PHONE


def test_taking_part_asked_of_no_organisation_is_no_partner_question():
    messages, _ = run_on(ActionUncertain(), asked("are you involved in politics?", "nlu_fallback"))
    assert said(messages) == ["utter_out_of_scope"]


def test_a_short_follow_up_the_policies_were_unsure_of_asks_the_last_question_again():
    question = asked(
        "is porsche part of this hub thing?", "ask_is_partner", {"organisation": "porsche"}
    )
    later = asked("and infineon", "affirm", {"organisation": "infineon"})
    later.slots["last_question"] = remembered(ActionAnswerIsPartner(), question)
    messages, slots = run_on(ActionDefaultFallback(), later)
    assert said(messages) == ["utter_is_partner_yes", "utter_contact_line"]
    assert values(messages, "utter_is_partner_yes")["organisation"] == "Infineon"
    assert slots == {"hub": "dresden"}
    lost = asked("blue", "affirm")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionDefaultFallback().run(dispatcher, lost, DOMAIN))
    assert said(dispatcher.messages) == ["utter_default"]
    assert [e["event"] for e in events] == ["rewind"]


def test_another_kind_of_partner_asked_on_keeps_the_hub():
    question = asked(
        "which universities are in the leipzig hub?",
        "ask_partners",
        {"hub": "leipzig", "org_kind": "academic"},
    )
    later = asked(
        "companies there too pls", "nlu_fallback", {"org_kind": "business"}, {"hub": "leipzig"}
    )
    later.slots["last_question"] = remembered(ActionAnswerPartners(), question)
    messages, _ = run_on(ActionUncertain(), later)
    assert said(messages)[0] == "utter_partners_business"
    assert "Porsche" in values(messages, "utter_partners_business")["partners"]
    assert "utter_partners_academic" not in said(messages)


def test_an_unknown_detail_pointing_back_at_the_conversations_hub_is_that_hubs():
    there = asked(
        "gut und gibts da parkplaetze, ich komm mit dem auto",
        "ask_unknown_fact",
        slots={"hub": "dresden"},
    )
    messages, _ = run_on(ActionAnswerUnknown(), there)
    assert said(messages) == ["utter_fact_unknown", "utter_contact_line"]
    assert values(messages, "utter_contact_line")["contact_phone"] == LINDNER_PHONE
    elsewhere = asked(
        "what will the weather be tomorrow", "ask_unknown_fact", slots={"hub": "dresden"}
    )
    assert said(run_on(ActionAnswerUnknown(), elsewhere)[0]) == ["utter_out_of_scope"]


def test_a_topic_settles_whom_to_call_when_the_visitor_names_both_hubs():
    smart_grids = with_hubs(
        asked(
            "software for smart grids: dresden or leipzig, and whom do i call?",
            "ask_routing",
            {"topic": "energy"},
        ),
        "dresden",
        "leipzig",
    )
    messages, _ = run_on(ActionRouteEnquiry(), smart_grids)
    assert messages[0]["contact_phone"] == WEBER_PHONE  # energy is Leipzig's, not both


def test_every_question_of_a_message_the_classifier_could_not_place_is_answered():
    both = asked(
        "which topics does leipzig cover, only energy? and what is planned there?",
        "ask_unknown_fact",
        {"hub": "leipzig", "topic": "energy"},
    )
    answers = said(run_on(ActionAnswerUnknown(), both)[0])
    assert "utter_hub_overview" in answers
    assert {"utter_programme_medium_term", "utter_programme_long_term"} <= set(answers)
    assert answers.count("utter_contact_line") == 1


def test_a_plan_named_in_an_off_topic_message_is_answered():
    plan = asked(
        "ich hab gelesen es soll neue mietflaechen im leipziger westen geben, was ist da geplant",
        "out_of_scope",
        {"programme": "rental_units", "hub": "leipzig"},
    )
    messages, _ = run_on(ActionDecline(), plan)
    assert any("West of Leipzig" in m.get("description", "") for m in messages)


def test_what_the_facts_lack_asked_with_a_question_of_theirs_is_unknown():
    desks = asked(
        "do you offer coworking desks in dresden and what do they cost",
        "out_of_scope",
        {"hub": "dresden", "topic": "office_space"},
    )
    assert said(run_on(ActionDecline(), desks)[0]) == ["utter_fact_unknown", "utter_contact_line"]


def in_words(text: str, intent: str, unfamiliar: list[str], entities=None) -> Tracker:
    """A message as the NLU reads it, with the words no question about the hubs uses."""
    question = asked(text, intent, entities)
    question.latest_message[UNFAMILIAR_WORDS] = unfamiliar
    return question


def test_a_detail_asked_in_the_hubs_words_alone_is_theirs_though_nothing_is_named():
    first = in_words("is there parking?", "ask_unknown_fact", [])
    assert said(run_on(ActionAnswerUnknown(), first)[0]) == [
        "utter_fact_unknown",
        "utter_contacts_both",
    ]
    elsewhere = in_words(
        "how much does it cost to use the parking garage downtown",
        "ask_unknown_fact",
        ["garage", "downtown"],
    )
    assert said(run_on(ActionAnswerUnknown(), elsewhere)[0]) == ["utter_out_of_scope"]


def test_a_city_named_with_words_of_no_hub_question_is_the_citys():
    zoo = in_words(
        "when does the zoo in leipzig open", "ask_unknown_fact", ["zoo"], {"hub": "leipzig"}
    )
    assert said(run_on(ActionAnswerUnknown(), zoo)[0]) == ["utter_out_of_scope"]
    hub = in_words("when does the leipzig hub open", "ask_unknown_fact", [], {"hub": "leipzig"})
    assert said(run_on(ActionAnswerUnknown(), hub)[0]) == [
        "utter_fact_unknown",
        "utter_contact_line",
    ]


def test_a_kind_of_partner_asked_in_the_hubs_words_is_listed_though_the_classifier_declined():
    kind = in_words(
        "which fraunhofer institutes are in it",
        "out_of_scope",
        [],
        {"org_kind": "research_institute"},
    )
    assert "utter_partners_research_institute" in said(run_on(ActionDecline(), kind)[0])
    elsewhere = in_words(
        "which universities are best for medicine",
        "out_of_scope",
        ["medicine"],
        {"org_kind": "university"},
    )
    assert said(run_on(ActionDecline(), elsewhere)[0]) == ["utter_out_of_scope"]


def test_a_city_with_words_of_no_hub_question_and_no_contact_asked_is_no_contact_question():
    city = in_words(
        "best restaurants in dresden?", "ask_contact", ["restaurants"], {"hub": "dresden"}
    )
    assert said(run_on(ActionAnswerContact(), city)[0]) == ["utter_out_of_scope"]
    asked_for = in_words(
        "phone number for our restaurant project in dresden",
        "ask_contact",
        ["restaurant"],
        {"hub": "dresden"},
    )
    assert said(run_on(ActionAnswerContact(), asked_for)[0]) == ["utter_contact_person"]


def test_both_numbers_asked_in_the_hubs_words_are_given_though_the_classifier_declined():
    both = in_words("could i get both phone numbers", "out_of_scope", [])
    assert not ActionDecline().declines(both)
    elsewhere = in_words("both phone numbers of the pizza places", "out_of_scope", ["pizza"])
    assert ActionDecline().declines(elsewhere)


def test_a_person_asked_of_the_other_hub_gives_both_hubs_contacts():
    other = asked(
        "is dr lindner in charge of leipzig too?",
        "ask_contact",
        {"person": "sebastian_lindner", "hub": "leipzig"},
    )
    messages, _ = run_on(ActionAnswerContact(), other)
    phones = [m["contact_phone"] for m in messages if m["response"] == "utter_contact_person"]
    assert phones == [LINDNER_PHONE, WEBER_PHONE]


def test_how_the_two_sites_differ_is_compared_though_the_classifier_declined():
    differ = asked("in two sentences: how do the two sites differ?", "out_of_scope")
    assert said(run_on(ActionDecline(), differ)[0])[0] == "utter_compare_hubs"


def test_a_detail_of_a_place_asked_in_the_hubs_words_is_theirs_though_the_classifier_declined():
    applying = in_words("by when do we have to apply for it?", "out_of_scope", [])
    assert said(run_on(ActionDecline(), applying)[0]) == [
        "utter_fact_unknown",
        "utter_contacts_both",
    ]
    own = in_words("how many days off have i taken so far", "out_of_scope", [])
    assert said(run_on(ActionDecline(), own)[0]) == ["utter_out_of_scope"]
    city = in_words(
        "what is there to do in leipzig at the weekend", "out_of_scope", [], {"hub": "leipzig"}
    )
    assert said(run_on(ActionDecline(), city)[0]) == ["utter_out_of_scope"]


def test_a_topic_read_from_a_compound_with_words_of_no_hub_question_is_not_the_hubs():
    tariff = in_words(
        "mein stromtarif ist zu teuer, welcher energieanbieter ist am guenstigsten?",
        "ask_unknown_fact",
        ["stromtarif", "teuer", "guenstigsten"],
    )
    tariff.latest_message["entities"] = [{"entity": "topic", "value": "energy", COMPOUND: True}]
    assert said(run_on(ActionAnswerUnknown(), tariff)[0]) == ["utter_out_of_scope"]
    hub = in_words("was kostet die energieberatung?", "ask_unknown_fact", [])
    hub.latest_message["entities"] = [{"entity": "topic", "value": "energy", COMPOUND: True}]
    assert said(run_on(ActionAnswerUnknown(), hub)[0])[0] == "utter_fact_unknown"


def test_a_correction_that_names_both_hubs_means_the_one_not_negated():
    question = asked("who are the partners in dresden?", "ask_partners", {"hub": "dresden"})
    text = "halt, ich bin in leipzig, nicht dresden. gleiche frage"
    later = asked(text, "compare_hubs", slots={"hub": "dresden"})
    later.latest_message["entities"] = [
        {"entity": "hub", "value": "leipzig", "start": text.index("leipzig")},
        {"entity": "hub", "value": "dresden", "start": text.index("dresden")},
    ]
    later.slots["last_question"] = remembered(ActionAnswerPartners(), question)
    messages, slots = run_on(ActionCompareHubs(), later)
    assert {m["hub_name"] for m in messages if "partners" in m} == {
        "Leipzig smart infrastructure hub"
    }
    assert slots == {"hub": "leipzig"}
