"""What a visitor meets when a part of the assistant fails."""

from __future__ import annotations

import pytest

from harness.servers import Visitor, _stop, running_assistant
from tests.support.responses import says

pytestmark = pytest.mark.e2e

LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"


@pytest.fixture(scope="module")
def assistant_without_actions(tmp_path_factory):
    with running_assistant(tmp_path_factory.mktemp("faults"), actions_in_process=False) as running:
        _stop(running.actions)  # the action server goes down
        yield running


def test_with_the_action_server_down_a_visitor_gets_an_apology_and_both_contacts(
    assistant_without_actions,
):
    answer = Visitor(assistant_without_actions).says("Who is the contact for Dresden?")
    assert says(answer, "utter_action_server_down", "en")
    assert LINDNER_PHONE in answer and WEBER_PHONE in answer
    assert answer.count(LINDNER_PHONE) == 1  # the conversation's start adds no apology


def test_the_apology_comes_in_the_conversations_language(assistant_without_actions):
    visitor = Visitor(assistant_without_actions)
    assert says(visitor.says("Bitte auf Deutsch"), "utter_language_switched", "de")
    answer = visitor.says("Wer ist der Ansprechpartner für Energie?")
    assert says(answer, "utter_action_server_down", "de") and WEBER_PHONE in answer
