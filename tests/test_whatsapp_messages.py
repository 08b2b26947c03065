"""WhatsApp Cloud API calls read, and replies built within WhatsApp's limits, without
Rasa (bot/messengers/whatsapp.py). The payloads are shaped as Meta's webhook reference
gives them."""

from __future__ import annotations

import json

import pytest

from bot.messengers.updates import NON_TEXT, UnknownUpdate
from bot.messengers.whatsapp import read_messages, reply_bodies, text_bodies
from tests.support.messengers import WHATSAPP_NUMBER_ID, whatsapp_call, whatsapp_message

ANNA = "4915112345678"
HUBS = [
    {"title": "Dresden: smart systems, basic research", "payload": '/inform{"hub":"dresden"}'},
    {"title": "Leipzig: smart infrastructure, practical applications", "payload": '/inform{"hub":"leipzig"}'},
]  # fmt: skip


def read(body: bytes):
    return read_messages(json.loads(body), WHATSAPP_NUMBER_ID)


def test_text_button_and_list_replies_are_read_as_the_assistant_s_messages():
    call = whatsapp_call(
        whatsapp_message(ANNA, body="Who is the contact for Dresden?"),
        whatsapp_message(
            ANNA,
            "interactive",
            type="button_reply",
            button_reply={"id": "/affirm", "title": "Yes, I agree"},
        ),
        whatsapp_message(
            ANNA,
            "interactive",
            type="list_reply",
            list_reply={"id": '/inform{"hub":"leipzig"}', "title": "Leipzig", "description": "…"},
        ),
        whatsapp_message(ANNA, "button", text="Yes", payload="/affirm"),
    )
    assert [(m.sender_id, m.text) for m in read(call)] == [
        (ANNA, "Who is the contact for Dresden?"),
        (ANNA, "/affirm"),
        (ANNA, '/inform{"hub":"leipzig"}'),
        (ANNA, "/affirm"),
    ]


@pytest.mark.parametrize(
    "kind, content",
    [
        ("image", {"mime_type": "image/jpeg", "sha256": "abc", "id": "1479", "caption": "hi"}),
        ("audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "1", "voice": True}),
        ("sticker", {"mime_type": "image/webp", "sha256": "abc", "id": "2", "animated": False}),
        ("location", {"latitude": 51.05, "longitude": 13.74, "name": "TU Dresden"}),
        ("document", {"filename": "cv.pdf", "mime_type": "application/pdf", "id": "3"}),
        ("unsupported", {}),
    ],
)  # fmt: skip
def test_media_locations_and_unknown_types_ask_for_text(kind, content):
    (incoming,) = read(whatsapp_call(whatsapp_message(ANNA, kind, **content)))
    assert incoming.text == NON_TEXT


def test_statuses_reactions_and_other_numbers_are_not_messages():
    status = {"id": "wamid.X", "status": "delivered", "timestamp": "1", "recipient_id": ANNA}
    assert read(whatsapp_call(statuses=[status])) == []
    reaction = whatsapp_message(ANNA, "reaction", message_id="wamid.X", emoji="👍")
    assert read(whatsapp_call(reaction)) == []
    other_number = whatsapp_call(whatsapp_message(ANNA, body="hi"), number_id="999")
    assert read(other_number) == []


def test_a_batch_of_several_entries_keeps_every_message_in_order():
    first = json.loads(whatsapp_call(whatsapp_message("491701", body="hallo")))
    second = json.loads(whatsapp_call(whatsapp_message("491702", body="hello")))
    first["entry"] += second["entry"]
    assert [(m.sender_id, m.text) for m in read(json.dumps(first).encode())] == [
        ("491701", "hallo"),
        ("491702", "hello"),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": "x"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [1]}]},
    ],
)
def test_what_is_not_a_whatsapp_call_is_refused(payload):
    with pytest.raises(UnknownUpdate):
        read_messages(payload, WHATSAPP_NUMBER_ID)


def test_a_message_without_an_id_is_refused():
    message = whatsapp_message(ANNA, body="hi")
    del message["id"]
    with pytest.raises(UnknownUpdate):
        read(whatsapp_call(message))


def test_up_to_three_choices_are_reply_buttons_of_twenty_characters():
    (body,) = reply_bodies(ANNA, "Which hub should your enquiry go to?", HUBS, "Choose")
    interactive = body["interactive"]
    assert body["to"] == ANNA and interactive["type"] == "button"
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Dresden", "Leipzig"]
    assert [b["reply"]["id"] for b in buttons] == [h["payload"] for h in HUBS]
    text = interactive["body"]["text"]  # the full names, since the buttons shortened them
    assert "• Leipzig: smart infrastructure, practical applications" in text


def test_a_long_title_without_a_colon_is_cut_at_a_word():
    buttons = [{"title": "Ja, ich bin einverstanden", "payload": "/affirm"}]
    (body,) = reply_bodies(ANNA, "Darf ich?", buttons, "Auswählen")
    (button,) = body["interactive"]["action"]["buttons"]
    assert button["reply"]["title"] == "Ja, ich bin…"
    assert "• Ja, ich bin einverstanden" in body["interactive"]["body"]["text"]


def test_more_than_three_choices_are_a_list_message():
    topics = [{"title": f"Topic number {i}: about {i}", "payload": f"/t{i}"} for i in range(12)]
    (body,) = reply_bodies(ANNA, "Which topic?", topics, "Auswählen")
    interactive = body["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Auswählen"
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)
    assert rows[0] == {"id": "/t0", "title": "Topic number 0: about 0"}


def test_a_long_summary_goes_ahead_as_text_and_its_question_carries_the_buttons():
    summary = "Please check your enquiry:\nEnquiry: " + "energy " * 300 + "\nShall I send it?"
    buttons = [{"title": "Send", "payload": "/affirm"}, {"title": "Don't send", "payload": "/deny"}]
    ahead, question = reply_bodies(ANNA, summary, buttons, "Choose")
    assert ahead["type"] == "text" and "energy energy" in ahead["text"]["body"]
    assert question["interactive"]["body"]["text"] == "Shall I send it?"


def test_a_text_over_4096_characters_is_split():
    bodies = text_bodies(ANNA, ("word " * 200 + "\n") * 10)
    assert len(bodies) == 3 and all(len(b["text"]["body"]) <= 4096 for b in bodies)
