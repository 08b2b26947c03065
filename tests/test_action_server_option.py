"""``ACTION_SERVER=on``: the Rasa server calls the action server over HTTP instead of
running the actions itself (the default every other end-to-end test uses), with the
same answers, form validations and stored enquiries."""

from __future__ import annotations

import pytest

from harness.servers import Visitor, running_assistant

pytestmark = pytest.mark.e2e

LINDNER_PHONE = "+49 (0)351 56 41 270"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    with running_assistant(tmp_path_factory.mktemp("server"), actions_in_process=False) as a:
        yield a


def test_the_contact_is_named_by_the_action_server(assistant):
    answer = Visitor(assistant).says("Who is the contact for Dresden?")
    assert "Dr Sebastian Lindner" in answer and LINDNER_PHONE in answer


def test_a_form_validation_on_the_action_server_asks_again_for_a_bad_address(assistant):
    visitor = Visitor(assistant)
    visitor.says("I would like to send an enquiry about a smart grid project in Leipzig")
    visitor.says("yes")
    assert "e-mail address" in visitor.says("Anna Example")
    answer = visitor.says("not an address")
    assert "doesn't look like an e-mail address" in answer
    assert "e-mail address should the contact person reply" in answer


def test_an_enquiry_sent_through_the_action_server_is_stored(assistant):
    visitor = Visitor(assistant)
    visitor.writes_enquiry_up_to_consent()
    visitor.says("/affirm")
    visitor.says("/affirm")
    [enquiry] = visitor.enquiries()
    assert enquiry.contact_key == "eric_weber"
