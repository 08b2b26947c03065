"""WhatsApp against the real Rasa server, dispatcher and SMTP server, with a local
stand-in for Meta's Cloud API (tests/support/messengers.py) that records what the
assistant sends. Calls are made as Meta makes them: signed, in Meta's payload shapes."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.servers import post, running_assistant
from tests.support.messengers import (
    meta_signature,
    wait_until,
    whatsapp_call,
    whatsapp_message,
)
from tests.support.responses import says

pytestmark = pytest.mark.e2e

APP_SECRET = "meta-app-secret"
LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"
numbers = iter(range(4915100000000 + int(time.time()) % 100000 * 1000, 4915199999999))


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, platforms, smtp):
    env = {**smtp.env, **platforms.env("telegram-secret-0123456789", APP_SECRET)}
    with running_assistant(
        tmp_path_factory.mktemp("whatsapp"), extra_env=env, with_dispatcher=True
    ) as running:
        yield running


def deliver(url: str, body: bytes, signature: str | None = "sign") -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = (
            meta_signature(APP_SECRET, body) if signature == "sign" else signature
        )
    return post(f"{url}/webhooks/whatsapp/webhook", body, headers)[0]


class Chat:
    """One visitor on WhatsApp: what they send, and what the assistant sent them."""

    def __init__(self, assistant, platforms):
        self.url, self.platforms = assistant.url, platforms
        self.wa_id = str(next(numbers))

    def sent(self) -> list[dict]:
        return list(self.platforms.whatsapp_sent[self.wa_id])

    def _exchange(self, message: dict, expect: str) -> str:
        before = len(self.platforms.whatsapp_texts(self.wa_id))
        assert deliver(self.url, whatsapp_call(message)) == 200
        assert wait_until(
            lambda: expect in " ".join(self.platforms.whatsapp_texts(self.wa_id)[before:])
        ), f"no answer with {expect!r}: {self.platforms.whatsapp_texts(self.wa_id)[before:]}"
        return " ".join(self.platforms.whatsapp_texts(self.wa_id)[before:])

    def says(self, text: str, expect: str) -> str:
        return self._exchange(whatsapp_message(self.wa_id, body=text), expect)

    def taps(self, reply_id: str, title: str, expect: str) -> str:
        reply = {"id": reply_id, "title": title}
        message = whatsapp_message(
            self.wa_id, "interactive", type="button_reply", button_reply=reply
        )
        return self._exchange(message, expect)

    def buttons(self) -> list[dict]:
        interactive = [b for b in self.sent() if b["type"] == "interactive"][-1]["interactive"]
        assert interactive["type"] == "button"
        return [b["reply"] for b in interactive["action"]["buttons"]]


def test_the_webhook_handshake_needs_the_verify_token(assistant):
    base = f"{assistant.url}/webhooks/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1158201444"
    with urllib.request.urlopen(f"{base}&hub.verify_token=whatsapp-verify-me", timeout=10) as ok:
        assert ok.read() == b"1158201444"
    for wrong in (f"{base}&hub.verify_token=guess", f"{base}&hub.verify_token="):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong, timeout=10)
        assert refused.value.code == 403


@pytest.mark.parametrize(
    "signature, status",
    [(None, 401), ("sha256=00ff", 403), ("sha1=abcdef", 403), ("other-secret", 403)],
)
def test_unsigned_or_wrongly_signed_calls_are_refused_and_not_processed(
    assistant, platforms, signature, status
):
    chat = Chat(assistant, platforms)
    body = whatsapp_call(whatsapp_message(chat.wa_id, body="Who is the contact for Dresden?"))
    if signature == "other-secret":
        signature = meta_signature("not-the-app-secret", body)
    assert deliver(assistant.url, body, signature) == status
    time.sleep(1)
    assert chat.sent() == []
    assert [
        e for e in assistant.tracker(chat.wa_id, "whatsapp")["events"] if e["event"] == "user"
    ] == []


def test_who_is_the_contact_for_dresden_names_lindner(assistant, platforms):
    chat = Chat(assistant, platforms)
    answer = chat.says("Who is the contact for Dresden?", "Dr Sebastian Lindner")
    assert LINDNER_PHONE in answer
    (reply,) = [b for b in chat.sent() if b["type"] == "text"]
    assert reply["messaging_product"] == "whatsapp" and reply["to"] == chat.wa_id


def test_choices_are_reply_buttons_within_whatsapps_limits_and_a_tap_answers(assistant, platforms):
    chat = Chat(assistant, platforms)
    chat.says("I have an enquiry about a cooperation", "Which hub")
    buttons = chat.buttons()
    assert [b["title"] for b in buttons] == ["Dresden", "Leipzig"]
    assert len(buttons) <= 3 and all(len(b["title"]) <= 20 for b in buttons)
    assert (
        "Leipzig: smart infrastructure, practical applications"
        in chat.platforms.whatsapp_texts(chat.wa_id)[-1]
    )  # the full names are in the message
    assert WEBER_PHONE in chat.taps(buttons[1]["id"], buttons[1]["title"], "Dr Eric Weber")


def test_a_german_visitor_gets_german_buttons(assistant, platforms):
    chat = Chat(assistant, platforms)
    chat.says("Ich habe eine Anfrage zu einer Kooperation", "Um welchen Hub")
    assert [b["title"] for b in chat.buttons()] == ["Dresden", "Leipzig"]
    assert "Grundlagenforschung" in chat.platforms.whatsapp_texts(chat.wa_id)[-1]


def test_statuses_and_reactions_are_acknowledged_and_not_answered(assistant, platforms):
    chat = Chat(assistant, platforms)
    status = {
        "id": "wamid.HBgLNDkxNTEy",
        "status": "read",
        "timestamp": str(int(time.time())),
        "recipient_id": chat.wa_id,
    }
    assert deliver(assistant.url, whatsapp_call(statuses=[status])) == 200
    reaction = whatsapp_message(chat.wa_id, "reaction", message_id="wamid.HBgLNDkxNTEy", emoji="👍")
    assert deliver(assistant.url, whatsapp_call(reaction)) == 200
    time.sleep(1)
    assert chat.sent() == []


@pytest.mark.parametrize(
    "kind, content",
    [
        ("image", {"mime_type": "image/jpeg", "sha256": "a", "id": "1479"}),
        ("audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": "a", "id": "2", "voice": True}),
        ("location", {"latitude": 51.0504, "longitude": 13.7373}),
    ],
)
def test_photos_voice_notes_and_locations_get_a_polite_request_for_text(
    assistant, platforms, kind, content
):
    chat = Chat(assistant, platforms)
    assert (
        deliver(assistant.url, whatsapp_call(whatsapp_message(chat.wa_id, kind, **content))) == 200
    )
    assert wait_until(lambda: chat.platforms.whatsapp_texts(chat.wa_id))
    assert says(chat.platforms.whatsapp_texts(chat.wa_id)[0], "utter_non_text", "en")


def test_a_batch_with_several_entries_answers_each_visitor(assistant, platforms):
    first, second = Chat(assistant, platforms), Chat(assistant, platforms)
    body = whatsapp_call(
        whatsapp_message(first.wa_id, body="Who is the contact for Dresden?"),
        whatsapp_message(second.wa_id, body="Who is the contact for Leipzig?"),
    )
    assert deliver(assistant.url, body) == 200
    assert wait_until(
        lambda: any(LINDNER_PHONE in t for t in platforms.whatsapp_texts(first.wa_id))
    )
    assert wait_until(lambda: any(WEBER_PHONE in t for t in platforms.whatsapp_texts(second.wa_id)))


def test_the_call_is_acknowledged_before_the_answer_is_sent(assistant, platforms):
    chat = Chat(assistant, platforms)
    platforms.whatsapp_delay = 2.0  # the Cloud API is slow today
    try:
        body = whatsapp_call(whatsapp_message(chat.wa_id, body="what is spinlab?"))
        assert deliver(assistant.url, body) == 200
        acknowledged = time.monotonic()
        assert wait_until(lambda: chat.sent())
        assert platforms.whatsapp_answered_at[-1] > acknowledged
    finally:
        platforms.whatsapp_delay = 0.0


def test_a_redelivered_message_is_answered_once(assistant, platforms):
    chat = Chat(assistant, platforms)
    body = whatsapp_call(whatsapp_message(chat.wa_id, body="what is spinlab?"))
    assert deliver(assistant.url, body) == 200
    assert deliver(assistant.url, body) == 200
    assert wait_until(lambda: chat.sent())
    time.sleep(1.5)
    events = assistant.tracker(chat.wa_id, "whatsapp")["events"]
    assert [e["text"] for e in events if e["event"] == "user"] == ["what is spinlab?"]


def test_a_chats_quick_messages_are_answered_in_order(assistant, platforms):
    chat = Chat(assistant, platforms)
    script = [
        ("Who is the contact for Dresden?", LINDNER_PHONE),
        ("Who is the contact for Leipzig?", WEBER_PHONE),
        ("what is spinlab?", "SpinLab"),
        ("Who is the contact for Dresden?", LINDNER_PHONE),
    ]
    bodies = [whatsapp_call(whatsapp_message(chat.wa_id, body=text)) for text, _ in script]
    with ThreadPoolExecutor(max_workers=1) as pool:  # one after the other, without waiting
        assert list(pool.map(lambda b: deliver(assistant.url, b), bodies)) == [200] * 4
    assert wait_until(lambda: len(platforms.whatsapp_texts(chat.wa_id)) >= 4)
    texts = platforms.whatsapp_texts(chat.wa_id)
    position = 0
    for _, marker in script:
        position = next(i for i, t in enumerate(texts[position:], position) if marker in t) + 1
    user_texts = [
        e["text"]
        for e in assistant.tracker(chat.wa_id, "whatsapp")["events"]
        if e["event"] == "user"
    ]
    assert user_texts == [text for text, _ in script]


def test_a_whole_enquiry_from_whatsapp_reaches_the_mail_server(assistant, platforms, smtp):
    chat = Chat(assistant, platforms)
    routed = chat.says(
        "We develop pressure sensors for industrial machines and need a research partner",
        "Dr Sebastian Lindner",
    )
    assert says(routed, "utter_offer_handoff", "en")
    offer = chat.buttons()
    yes = next(b for b in offer if b["id"] == "/request_enquiry")
    chat.taps(yes["id"], yes["title"], "What is your name?")
    chat.says("Anna Schmidt", "e-mail address")
    chat.says("anna.schmidt@sensorik.example", "organisation")
    consent = chat.says("Sensorik GmbH", "May I pass")
    assert "Dr Sebastian Lindner" in consent
    agree = chat.buttons()[0]
    assert agree["title"] == "Yes, I agree"
    chat.taps(agree["id"], agree["title"], "Shall I send it?")
    send = chat.buttons()[0]
    done = chat.taps(send["id"], send["title"], "Thank you!")
    reference = re.search(r"reference (\S+) ", done).group(1)
    assert wait_until(
        lambda: any(reference in m["Subject"] for m in smtp.mailbox.messages), timeout=30
    )
    mails = [m for m in smtp.mailbox.messages if reference in m["Subject"]]
    to_contact = next(m for m in mails if "lindner@example.org" in m["To"])
    plain = to_contact.get_body(("plain",)).get_content()
    assert "pressure sensors" in plain and "über WhatsApp" in plain
    assert "Yes, I agree" in plain and "/affirm" not in plain  # what the visitor tapped
    assert to_contact["Reply-To"] == "Anna Schmidt <anna.schmidt@sensorik.example>"
