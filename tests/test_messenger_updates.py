"""What messenger updates mean and what the assistant sends back, without Rasa."""

from __future__ import annotations

import asyncio

import pytest

from bot.messengers import facebook, telegram
from bot.messengers.updates import EDITED, NON_TEXT, SeenIds, UnknownUpdate
from tests.support.messengers import meta_signature


def message(text=None, **extra) -> dict:
    body = {"message_id": 1, "chat": {"id": 42, "type": "private"}, "date": 1, **extra}
    if text is not None:
        body["text"] = text
    return {"update_id": 7, "message": body}


@pytest.mark.parametrize(
    "text, understood",
    [
        ("who is the contact for Dresden?", "who is the contact for Dresden?"),
        ("/start", "/greet"),
        ("/start@hub_test_bot", "/greet"),
        ("/help", "/help"),
        ("/deutsch", '/switch_language{"language": "de"}'),
        ("/language en", '/switch_language{"language": "en"}'),
        ("/sprache Deutsch", '/switch_language{"language": "de"}'),
        ("/unknown", "/help"),
    ],
)
def test_texts_and_commands(text, understood):
    incoming = telegram.read_update(message(text))
    assert (incoming.chat_id, incoming.update_id, incoming.text) == (42, 7, understood)


def test_stickers_voice_and_edits_become_intents_the_dialogue_answers():
    assert telegram.read_update(message(sticker={"file_id": "x"})).text == NON_TEXT
    assert telegram.read_update(message(voice={"file_id": "x", "duration": 2})).text == NON_TEXT
    edited = {"update_id": 8, "edited_message": message("hi")["message"]}
    assert telegram.read_update(edited).text == EDITED


def test_a_button_press_carries_its_payload_and_language():
    query = {
        "update_id": 9,
        "callback_query": {
            "id": "cb1",
            "from": {"id": 42, "language_code": "de"},
            "message": {"message_id": 3, "chat": {"id": 42}},
            "data": "/affirm",
        },
    }
    incoming = telegram.read_update(query)
    assert (incoming.text, incoming.callback_query_id, incoming.language) == (
        "/affirm",
        "cb1",
        "de",
    )


@pytest.mark.parametrize(
    "update",
    [
        [],
        {"update_id": "1"},
        {"update_id": 1},
        {"update_id": 1, "poll": {}},
        message("x") | {"message": {"text": "x"}},
        {"update_id": True, "message": message("x")["message"]},  # a bool is no id
        {"update_id": 1, "message": {"chat": "x", "text": "hi"}},
        {"update_id": 1, "message": {"chat": {"id": "42"}, "text": "hi"}},
        {"update_id": 1, "message": message("hi")["message"] | {"from": "x"}},
        {"update_id": 1, "message": "x"},
        {"update_id": 1, "callback_query": {"id": "cb", "message": "x", "data": "/affirm"}},
        {"update_id": 1, "callback_query": {"message": {"chat": {"id": 1}}, "from": 7}},
        {"update_id": 1, "edited_message": {"chat": [], "text": "hi"}},
    ],
)
def test_what_is_not_a_readable_update_is_refused(update):
    with pytest.raises(UnknownUpdate):
        telegram.read_update(update)


def test_buttons_become_an_inline_keyboard_and_overlong_payloads_are_left_out():
    buttons = [
        {"title": "Dresden", "payload": "/inform"},
        {"title": "Long", "payload": "/" + "x" * 70},
    ]
    body = telegram.send_message_body(42, "Which hub?", buttons)
    assert body["reply_markup"] == {
        "inline_keyboard": [[{"text": "Dresden", "callback_data": "/inform"}]]
    }
    assert "reply_markup" not in telegram.send_message_body(42, "hello")


def test_seen_ids_remember_a_bounded_number():
    seen = SeenIds(size=2)

    async def answers(*ids) -> list[bool]:
        return [await seen.first_time(update_id) for update_id in ids]

    assert asyncio.run(answers(1, 1, 2, 3, 1)) == [True, False, True, True, True]  # 1 forgotten


def test_the_meta_signature_is_checked_over_the_raw_body():
    body = b'{"object": "page"}'
    assert facebook.signature_is_valid("secret", body, meta_signature("secret", body))
    assert not facebook.signature_is_valid("secret", body + b" ", meta_signature("secret", body))
    assert not facebook.signature_is_valid("other", body, meta_signature("secret", body))
    assert not facebook.signature_is_valid("secret", body, None)
    assert not facebook.signature_is_valid("secret", body, "sha1=" + "0" * 40)


def test_messenger_events_and_quick_replies():
    payload = {
        "object": "page",
        "entry": [
            {
                "messaging": [
                    {"sender": {"id": "u1"}, "message": {"mid": "m1", "text": "hello"}},
                    {
                        "sender": {"id": "u1"},
                        "message": {"mid": "m2", "is_echo": True, "text": "x"},
                    },
                    {"sender": {"id": "u1"}, "delivery": {"mids": ["m1"]}},
                    {"sender": {"id": "u2"}, "message": {"mid": "m3", "attachments": [{}]}},
                    {"sender": {"id": "u2"}, "postback": {"mid": "m4", "payload": "/affirm"}},
                ]
            }
        ],
    }
    assert [(e.sender_id, e.text) for e in facebook.read_events(payload)] == [
        ("u1", "hello"),
        ("u2", NON_TEXT),
        ("u2", "/affirm"),
    ]
    body = facebook.send_body(
        "u1", "Which hub?", [{"title": "Dresden: smart systems, basic research", "payload": "/x"}]
    )
    [reply] = body["message"]["quick_replies"]
    assert (
        len(reply["title"]) <= 20
        and reply["title"].startswith("Dresden")
        and reply["payload"] == "/x"
    )
    with pytest.raises(UnknownUpdate):
        facebook.read_events({"object": "instagram"})


def test_odd_but_harmless_fields_are_read_without_them():
    """A button's data or language that is not a text is left out, not passed on."""
    query = {
        "update_id": 9,
        "callback_query": {
            "id": 5,
            "from": {"id": 42, "language_code": ["de"]},
            "message": {"chat": {"id": 42}},
            "data": {"x": 1},
        },
    }
    assert telegram.read_update(query) == telegram.Incoming(9, 42, "", None, None)
    channel_post = {"update_id": 10, "message": {"chat": {"id": -100}, "text": "hi"}}
    assert telegram.read_update(channel_post) == telegram.Incoming(10, -100, "hi")


@pytest.mark.parametrize(
    "entry",
    [
        1,
        {"messaging": "x"},
        {"messaging": ["x"]},
        {"messaging": [{"sender": "x", "message": {"mid": "m", "text": "hi"}}]},
        {"messaging": [{"sender": {"id": {"x": 1}}, "message": {"mid": "m", "text": "hi"}}]},
        {"messaging": [{"sender": {"id": "u" * 201}, "message": {"mid": "m", "text": "hi"}}]},
        {"messaging": [{"message": {"mid": "m", "text": "hi"}}]},
        {"messaging": [{"sender": {"id": "u1"}, "message": {"text": "no id, no time"}}]},
    ],
)
def test_a_malformed_messenger_call_is_refused_not_half_read(entry):
    with pytest.raises(UnknownUpdate):
        facebook.read_events({"object": "page", "entry": [entry]})
    with pytest.raises(UnknownUpdate):
        facebook.read_events({"object": "page", "entry": entry})


def test_messenger_ids_fall_back_to_sender_and_time_and_texts_to_the_title():
    event = {"sender": {"id": 1234}, "timestamp": 99, "postback": {"payload": 5, "title": "Go"}}
    [incoming] = facebook.read_events({"object": "page", "entry": [{"messaging": [event]}]})
    assert incoming == facebook.Incoming("1234-99", "1234", "Go")
    assert facebook.read_events({"object": "page", "entry": [{"changes": []}]}) == []
