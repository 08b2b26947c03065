"""The real action server and Rasa server, asked over the REST channel."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from harness.servers import running_assistant
from tests.support.responses import says_any

pytestmark = pytest.mark.e2e

LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    with running_assistant(tmp_path_factory.mktemp("servers")) as running:
        yield running


def ask(assistant, text, sender=None) -> str:
    replies = assistant.send(sender or uuid.uuid4().hex, text)
    assert replies, f"no reply to {text!r}"
    return " ".join(r.get("text", "") for r in replies)


def test_the_contact_for_dresden_is_named_with_phone(assistant):
    answer = ask(assistant, "Who is the contact for Dresden?")
    assert "Dr Sebastian Lindner" in answer and LINDNER_PHONE in answer


def test_a_conversation_keeps_the_hub_it_is_about(assistant):
    sender = uuid.uuid4().hex
    assert "practical applications" in ask(assistant, "Tell me about the Leipzig hub", sender)
    partners = ask(assistant, "who are its partners?", sender)
    assert "Porsche" in partners and "Infineon" not in partners
    assert WEBER_PHONE in ask(assistant, "and who is the contact there?", sender)


def test_a_long_conversation_keeps_its_language_and_hub_past_the_read_window(assistant):
    """The tracker stores read a long conversation's last turns (nlu/server/window.py):
    what the visitor said forty turns ago still counts."""
    sender = uuid.uuid4().hex
    assert "Dr. Eric Weber" in ask(assistant, "Wer ist der Ansprechpartner in Leipzig?", sender)
    for _ in range(40):
        ask(assistant, "danke", sender)
    partners = ask(assistant, "Welche Partner gibt es dort?", sender)
    assert "Porsche" in partners and "Infineon" not in partners
    assert WEBER_PHONE in ask(assistant, "und wie erreiche ich ihn?", sender)


def test_routing_by_need_gives_one_contact_and_the_reason(assistant):
    answer = ask(assistant, "We build smart grid software for utilities, who should I talk to?")
    assert "Dr Eric Weber" in answer and "Lindner" not in answer
    assert "energy" in answer and "focus areas of the Leipzig" in answer


def test_an_unclear_enquiry_gets_hub_buttons_that_work(assistant):
    sender = uuid.uuid4().hex
    replies = assistant.send(sender, "I have an enquiry about a cooperation")
    buttons = [b for r in replies for b in r.get("buttons", [])]
    assert [b["title"].split(":")[0] for b in buttons] == ["Dresden", "Leipzig"]
    assert "Lindner" not in json.dumps(replies) and "Weber" not in json.dumps(replies)
    assert LINDNER_PHONE in ask(assistant, buttons[0]["payload"], sender)


def test_unknown_organisations_are_answered_honestly(assistant):
    answer = ask(assistant, "is Siemens a partner of the hub?")
    assert "Siemens is not among the partners named for either hub" in answer


def test_unrelated_questions_are_declined(assistant):
    for text in (
        "what's the weather tomorrow?",
        "tell me a joke",
        "I need a train ticket to Berlin",
    ):
        answer = ask(assistant, text)
        assert "I can only help with questions about the Dresden/Leipzig digital hub" in answer
        assert "Tel." not in answer


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😀🎉👍",
        "x" * 10_000,
        "Ã¼ber die Ã–ffnungszeiten â€“ ï¿½",
        "\u0000\ufffd\ufffd",
    ],
    ids=["empty", "whitespace", "emoji", "10k-chars", "mojibake", "control-and-replacement"],
)
def test_bad_input_gets_a_sensible_reply_and_no_server_error(assistant, text):
    answer = ask(assistant, text)
    # mojibake of German is answered in German, which is fine too
    assert says_any(answer, ("utter_no_words", "utter_out_of_scope", "utter_default")), answer


def test_a_body_that_is_not_utf8_is_refused_as_a_client_error(assistant):
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook",
        data=b'{"sender": "x", "message": "caf\xe9 \xff"}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400
    assert "Who is the contact" not in ask(assistant, "Who is the contact for Leipzig?")
    assert WEBER_PHONE in ask(assistant, "Who is the contact for Leipzig?")
