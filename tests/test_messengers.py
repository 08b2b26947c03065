"""Telegram and Facebook Messenger against the real Rasa server, action server,
dispatcher and SMTP server, with a local stand-in for the platforms' APIs that
records what the assistant sends."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import pytest

from bot import db
from bot.enquiries import store as enquiry_store
from harness.servers import post, running_assistant
from tests.support.messengers import meta_signature, telegram_update, wait_until
from tests.support.responses import says

pytestmark = pytest.mark.e2e

TELEGRAM_SECRET = "telegram-secret-0123456789"
FACEBOOK_SECRET = "meta-app-secret"
LINDNER_PHONE = "+49 (0)351 56 41 270"
WEBER_PHONE = "+49 (0)341 355 785 70"
ids = count(int(time.time()) * 1000)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, platforms, smtp):
    env = {**smtp.env, **platforms.env(TELEGRAM_SECRET, FACEBOOK_SECRET)}
    with running_assistant(
        tmp_path_factory.mktemp("messengers"), extra_env=env, with_dispatcher=True
    ) as running:
        yield running


def user_messages(assistant, sender: str, channel: str) -> list[dict]:
    """What the Rasa server received from this sender on ``channel``."""
    events = assistant.tracker(sender, channel).get("events") or []
    return [e for e in events if e["event"] == "user"]


class TelegramChat:
    def __init__(self, assistant, platforms):
        self.assistant, self.platforms = assistant, platforms
        self.chat_id = next(ids)

    def send(self, body: bytes, secret: str | None = TELEGRAM_SECRET) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return post(f"{self.assistant.url}/webhooks/telegram/webhook", body, headers)

    def says(self, text: str | None = None, **extra) -> str:
        """Send a message; the assistant's replies to it (sent before the webhook answers)."""
        before = len(self.platforms.telegram_texts(self.chat_id))
        status, _ = self.send(telegram_update(next(ids), self.chat_id, text, **extra))
        assert status == 200
        return " ".join(self.platforms.telegram_texts(self.chat_id)[before:])

    def presses(self, payload: str) -> str:
        before = len(self.platforms.telegram_texts(self.chat_id))
        query = {
            "update_id": next(ids),
            "callback_query": {
                "id": str(next(ids)),
                "from": {"id": self.chat_id, "is_bot": False, "first_name": "Anna"},
                "message": {"message_id": 1, "chat": {"id": self.chat_id, "type": "private"}},
                "data": payload,
            },
        }
        assert self.send(json.dumps(query).encode())[0] == 200
        return " ".join(self.platforms.telegram_texts(self.chat_id)[before:])


def test_a_telegram_question_is_answered_in_the_right_chat(assistant, platforms):
    chat = TelegramChat(assistant, platforms)
    answer = chat.says("Who is the contact for Dresden?")
    assert "Dr Sebastian Lindner" in answer and LINDNER_PHONE in answer
    other = TelegramChat(assistant, platforms)
    assert platforms.telegram_texts(other.chat_id) == []


def test_buttons_become_an_inline_keyboard_that_answers(assistant, platforms):
    chat = TelegramChat(assistant, platforms)
    chat.says("I have an enquiry about a cooperation")
    keyboard = platforms.telegram_sent[chat.chat_id][-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"].split(":")[0] for row in keyboard] == ["Dresden", "Leipzig"]
    assert WEBER_PHONE in chat.presses(keyboard[1][0]["callback_data"])
    assert any(method == "answerCallbackQuery" for method, _ in platforms.telegram_calls)


@pytest.mark.parametrize("secret, status", [(None, 401), ("wrong", 403), ("", 403)])
def test_telegram_updates_without_the_secret_are_refused_and_not_processed(
    assistant, platforms, secret, status
):
    chat = TelegramChat(assistant, platforms)
    update = telegram_update(next(ids), chat.chat_id, "Who is the contact for Dresden?")
    assert chat.send(update, secret=secret)[0] == status
    time.sleep(0.5)
    assert platforms.telegram_texts(chat.chat_id) == []
    assert user_messages(assistant, str(chat.chat_id), "telegram") == []


def test_the_same_update_twice_is_answered_once(assistant, platforms):
    chat = TelegramChat(assistant, platforms)
    update = telegram_update(next(ids), chat.chat_id, "what is spinlab?")
    assert chat.send(update)[0] == 200
    assert chat.send(update)[0] == 200
    time.sleep(0.5)
    assert len(platforms.telegram_texts(chat.chat_id)) == len(
        {t for t in platforms.telegram_texts(chat.chat_id)}
    )
    assert len(user_messages(assistant, str(chat.chat_id), "telegram")) == 1


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[1, 2, 3]", 400),
        (json.dumps({"update_id": 5, "poll": {"id": "1"}}).encode(), 400),
        (json.dumps({"update_id": 6, "message": {"text": "hi"}}).encode(), 400),
        (b'{"update_id": 7, "message": {"text": "' + b"x" * 70_000 + b'"}}', 413),
    ],
    ids=["malformed", "not-an-object", "unknown-type", "no-chat", "oversized"],
)
def test_bad_telegram_bodies_get_a_client_error_never_500(assistant, platforms, body, status):
    chat = TelegramChat(assistant, platforms)
    assert chat.send(body)[0] == status


def test_stickers_voice_notes_edits_and_commands_get_polite_answers(assistant, platforms):
    chat = TelegramChat(assistant, platforms)
    assert says(chat.says("/start"), "utter_greet", "en")
    sticker = {"sticker": {"file_id": "CAAC", "emoji": "👍", "width": 512, "height": 512}}
    assert says(chat.says(None, **sticker), "utter_non_text", "en")
    voice = {"voice": {"file_id": "AwAC", "duration": 3, "mime_type": "audio/ogg"}}
    assert says(chat.says(None, **voice), "utter_non_text", "en")
    edited = {
        "update_id": next(ids),
        "edited_message": {
            "message_id": 1,
            "chat": {"id": chat.chat_id, "type": "private"},
            "date": 1,
            "edit_date": 2,
            "text": "who is the contact for Leipzig?",
        },
    }
    before = len(platforms.telegram_texts(chat.chat_id))
    assert chat.send(json.dumps(edited).encode())[0] == 200
    assert says(
        " ".join(platforms.telegram_texts(chat.chat_id)[before:]), "utter_edited_message", "en"
    )
    assert says(chat.says("/help"), "utter_help", "en")
    assert says(chat.says("/deutsch"), "utter_language_switched", "de")
    assert says(chat.says("/language en"), "utter_language_switched", "en")


def test_twenty_chats_of_five_messages_each_are_all_answered_in_order(assistant, platforms):
    script = [
        ("hello", ("utter_greet",)),
        ("Who is the contact for Dresden?", (LINDNER_PHONE,)),
        ("what is spinlab?", ("SpinLab",)),
        ("Who is the contact for Leipzig?", (WEBER_PHONE,)),
        ("bye", ("utter_goodbye",)),
    ]
    chats = [TelegramChat(assistant, platforms) for _ in range(20)]

    def converse(chat: TelegramChat) -> None:
        for text, _ in script:
            status, _ = chat.send(telegram_update(next(ids), chat.chat_id, text))
            assert status == 200

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(converse, chats))
    for chat in chats:
        texts = platforms.telegram_texts(chat.chat_id)
        position = 0
        for _, markers in script:
            found = next(
                i
                for i, text in enumerate(texts[position:], position)
                if all(
                    says(text, m, "en") if m.startswith("utter_") else m in text for m in markers
                )
            )
            position = found + 1


def test_a_whole_enquiry_from_telegram_reaches_the_mail_server(assistant, platforms, smtp):
    chat = TelegramChat(assistant, platforms)
    routed = chat.says(
        "We develop pressure sensors for industrial machines and need a research partner"
    )
    assert "Dr Sebastian Lindner" in routed and says(routed, "utter_offer_handoff", "en")
    assert says(chat.presses("/request_enquiry"), "utter_ask_visitor_name", "en")
    assert says(chat.says("Anna Schmidt"), "utter_ask_visitor_email", "en")
    assert says(chat.says("anna@sensorik.example"), "utter_ask_visitor_organisation", "en")
    assert says(chat.says("Sensorik GmbH"), "utter_consent_question", "en")
    assert says(chat.presses("/affirm"), "utter_enquiry_summary", "en")
    done = chat.presses("/affirm")
    assert says(done, "utter_enquiry_sent", "en")
    reference = done.split("reference ")[1].split(" ")[0]
    mails = [m for m in smtp.mailbox.wait_for(2) if reference in m["Subject"]]
    to_contact = next(m for m in mails if "lindner@example.org" in m["To"])
    assert "pressure sensors" in to_contact.get_body(("plain",)).get_content()
    assert "über Telegram" in to_contact.get_body(("plain",)).get_content()  # the channel, by name


def test_a_rest_client_naming_a_telegram_chat_gets_nothing_of_it(assistant, platforms):
    """A Telegram visitor's summary awaits their confirmation; a REST client sends their
    chat id, bare or with the channel's prefix, and confirms or asks for erasure."""
    victim = TelegramChat(assistant, platforms)
    victim.says("We develop pressure sensors for industrial machines and need a research partner")
    victim.presses("/request_enquiry")
    victim.says("Vera Sommer")
    victim.says("vera.sommer@victim.example")
    victim.says("Sommer Sensorik AG")
    assert "vera.sommer@victim.example" in victim.presses("/affirm")  # the summary
    for sender in (str(victim.chat_id), f"telegram:{victim.chat_id}"):
        for text in ("/affirm", "please delete my data", "/affirm"):
            seen = json.dumps(assistant.send(sender, text))
            assert "Sommer" not in seen and "victim.example" not in seen
    assert not [e for e in stored(assistant) if e.visitor_email == "vera.sommer@victim.example"]
    assert says(victim.presses("/affirm"), "utter_enquiry_sent", "en")  # still theirs, intact
    (enquiry,) = [e for e in stored(assistant) if e.visitor_email == "vera.sommer@victim.example"]
    assert (enquiry.channel, enquiry.conversation_id) == ("telegram", f"telegram:{victim.chat_id}")


def stored(assistant) -> list:
    return enquiry_store.enquiries(db.session_factory(assistant.database))


# --- Facebook Messenger ---------------------------------------------------------------


def messenger_event(sender: str, text: str | None = None, **message) -> bytes:
    """A page webhook call as Meta sends it (one entry, one messaging event)."""
    body = {"mid": f"m_{next(ids)}", **({"text": text} if text is not None else {}), **message}
    event = {
        "sender": {"id": sender},
        "recipient": {"id": "PAGE_ID"},
        "timestamp": int(time.time() * 1000),
        "message": body,
    }
    entry = {"id": "PAGE_ID", "time": int(time.time() * 1000), "messaging": [event]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def to_messenger(assistant, body: bytes, signature: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return post(f"{assistant.url}/webhooks/facebook/webhook", body, headers)


def test_a_signed_messenger_message_is_answered_with_quick_replies(assistant, platforms):
    sender = f"psid-{next(ids)}"
    body = messenger_event(sender, "I have an enquiry about a cooperation")
    assert to_messenger(assistant, body, meta_signature(FACEBOOK_SECRET, body))[0] == 200
    assert wait_until(lambda: platforms.facebook_sent[sender])
    replies = platforms.facebook_sent[sender][-1]["message"]["quick_replies"]
    assert [r["title"].split(":")[0] for r in replies] == ["Dresden", "Leipzig"]
    assert all(len(r["title"]) <= 20 for r in replies)
    press = messenger_event(sender, "Leipzig", quick_reply={"payload": replies[1]["payload"]})
    assert to_messenger(assistant, press, meta_signature(FACEBOOK_SECRET, press))[0] == 200
    assert wait_until(lambda: any(WEBER_PHONE in t for t in platforms.facebook_texts(sender)))


@pytest.mark.parametrize("signature, status", [(None, 401), ("sha256=00ff", 403), ("sha1=ab", 403)])
def test_unsigned_or_wrongly_signed_messenger_calls_are_refused(
    assistant, platforms, signature, status
):
    sender = f"psid-{next(ids)}"
    assert to_messenger(assistant, messenger_event(sender, "hello"), signature)[0] == status
    time.sleep(0.5)
    assert platforms.facebook_sent[sender] == []
    assert user_messages(assistant, sender, "facebook") == []


def test_a_body_signed_with_another_secret_is_refused(assistant, platforms):
    sender = f"psid-{next(ids)}"
    body = messenger_event(sender, "hello")
    assert to_messenger(assistant, body, meta_signature("not-the-app-secret", body))[0] == 403


def test_the_same_messenger_message_twice_is_answered_once(assistant, platforms):
    sender = f"psid-{next(ids)}"
    body = messenger_event(sender, "what is spinlab?")
    for _ in range(2):
        assert to_messenger(assistant, body, meta_signature(FACEBOOK_SECRET, body))[0] == 200
    time.sleep(0.5)
    assert len(platforms.facebook_texts(sender)) == len(set(platforms.facebook_texts(sender)))
    assert len(user_messages(assistant, sender, "facebook")) == 1


def test_the_webhook_handshake_needs_the_verify_token(assistant):
    ok = (
        f"{assistant.url}/webhooks/facebook/webhook"
        "?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"
    )
    with urllib.request.urlopen(ok, timeout=10) as answer:
        assert answer.read() == b"42"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(ok.replace("verify-me", "guess"), timeout=10)
    assert refused.value.code == 403


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (json.dumps({"object": "instagram"}).encode(), 400),
        (b'{"object": "page", "x": "' + b"x" * 70_000 + b'"}', 413),
    ],
    ids=["malformed", "not-a-page", "oversized"],
)
def test_bad_messenger_bodies_get_a_client_error(assistant, body, status):
    assert to_messenger(assistant, body, meta_signature(FACEBOOK_SECRET, body))[0] == status


def test_a_photo_on_messenger_gets_a_polite_answer(assistant, platforms):
    sender = f"psid-{next(ids)}"
    photo = {"attachments": [{"type": "image", "payload": {"url": "https://example.org/x.jpg"}}]}
    body = messenger_event(sender, None, **photo)
    assert to_messenger(assistant, body, meta_signature(FACEBOOK_SECRET, body))[0] == 200
    assert wait_until(lambda: platforms.facebook_texts(sender))
    assert says(platforms.facebook_texts(sender)[0], "utter_non_text", "en")
