"""Routing decisions: exactly one contact with a reason, or a question; never a guess."""

from __future__ import annotations

import pytest

from bot.routing import Clarification, Decision, Need, route


@pytest.mark.parametrize(
    "need, contact, kind, subject",
    [
        (Need(topic="energy"), "eric_weber", "focus", "energy"),
        (Need(topic="sensors"), "sebastian_lindner", "focus", "sensor technology"),
        (Need(topic="funding"), "eric_weber", "topic", "funding and investment for start-ups"),
        (Need(organisation="infineon"), "sebastian_lindner", "organisation", "Infineon"),
        (Need(organisation="eex"), "eric_weber", "organisation", "European Energy Exchange (EEX)"),
        (Need(programme="spinlab"), "eric_weber", "programme", "SpinLab – the HHL accelerator"),
        (Need(person="eric_weber"), "eric_weber", "person", "Dr Eric Weber"),
        (Need(hub="dresden"), "sebastian_lindner", "hub", "Dresden smart systems hub"),
    ],
)
def test_a_need_names_one_contact_and_why(facts, need, contact, kind, subject):
    decision = route(need, facts)
    assert isinstance(decision, Decision)
    assert decision.contact.key == contact
    assert (decision.reason.kind, decision.reason.subject) == (kind, subject)
    assert decision.hub.key == decision.contact.hub


def test_an_explicit_hub_settles_a_topic_of_the_other_hub(facts):
    decision = route(Need(hub="dresden", topic="energy"), facts)
    assert decision.contact.key == "sebastian_lindner" and decision.reason.kind == "hub"


def test_a_topic_and_its_own_hub_give_the_topic_as_reason(facts):
    decision = route(Need(hub="leipzig", topic="ehealth"), facts)
    assert decision.contact.key == "eric_weber" and decision.reason.subject == "e-health"


def test_nothing_named_asks_which_hub(facts):
    question = route(Need(), facts)
    assert isinstance(question, Clarification)
    assert [h.key for h in question.hubs] == ["dresden", "leipzig"] and question.subject is None


def test_mentions_of_both_hubs_ask_instead_of_guessing(facts):
    question = route(Need(topic="energy", organisation="infineon"), facts)
    assert isinstance(question, Clarification)
    assert question.subject == "Infineon"


def test_unknown_keys_are_ignored_not_guessed(facts):
    assert isinstance(route(Need(topic="quantum", organisation="siemens"), facts), Clarification)


def test_a_topic_without_hub_asks(facts):
    from dataclasses import replace

    from bot.knowledge.facts import Topic

    shared = Topic(key="shared", name="shared topic", hub=None, focus=False)
    facts_with_shared = replace(facts, topics=(*facts.topics, shared))
    question = route(Need(topic="shared"), facts_with_shared)
    assert isinstance(question, Clarification) and question.subject == "shared topic"
