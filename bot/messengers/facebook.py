"""Facebook Messenger (Meta's Send API and webhooks) as the assistant meets it,
without Rasa: the signature that proves a webhook call comes from Meta, what the
events mean, and what the assistant sends back. WhatsApp's Cloud API signs its
webhooks the same way (``X-Hub-Signature-256``). The Rasa channel that serves the
webhook is ``nlu/channels/facebook.py``."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from bot.messengers.api import JsonApi
from bot.messengers.updates import NON_TEXT, UnknownUpdate

QUICK_REPLY_TITLE_LIMIT = 20  # characters Messenger shows on a quick reply
QUICK_REPLY_PAYLOAD_LIMIT = 1000
ID_CHARS = 200  # a PSID is ~16 digits; the conversation id column holds 255


def signature_is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, checked in
    constant time."""
    method, _, signature = (header or "").partition("=")
    if method != "sha256" or not signature:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@dataclass(frozen=True)
class Incoming:
    message_id: str  # to skip a redelivered event
    sender_id: str
    text: str


def read_events(payload: object) -> list[Incoming]:
    """The visitor messages in one webhook call; raises :class:`UnknownUpdate` for
    what is not a page call as Meta makes it. Total: any JSON value gives one or the
    other, never another error (a signed but malformed call must be a 400, not a 500).
    Receipts, echoes and events of other kinds are left out, not refused."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        raise UnknownUpdate("not a Messenger page event")
    found = []
    for entry in _list(payload.get("entry"), "entry"):
        if not isinstance(entry, dict):
            raise UnknownUpdate("an entry is not an object")
        for event in _list(entry.get("messaging"), "messaging"):
            if incoming := _read_event(event):
                found.append(incoming)
    return found


def _list(value: object, name: str) -> list:
    if value is None:
        return []  # an entry of another subscription (page feed changes) has no messaging
    if not isinstance(value, list):
        raise UnknownUpdate(f"{name!r} is not a list")
    return value


def _id(value: object) -> str | None:
    """A PSID or message id as Meta sends it: a short text (or a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and 0 < len(value) <= ID_CHARS else None


def _text(*candidates: object) -> str:
    return next((c for c in candidates if isinstance(c, str) and c), "")


def _read_event(event: object) -> Incoming | None:
    if not isinstance(event, dict):
        raise UnknownUpdate("a messaging event is not an object")
    sender = event.get("sender")
    sender_id = _id(sender.get("id")) if isinstance(sender, dict) else None
    if sender_id is None:
        raise UnknownUpdate("a messaging event without a sender id")
    if isinstance(postback := event.get("postback"), dict):
        mid = _message_id(postback, sender_id, event)
        return Incoming(mid, sender_id, _text(postback.get("payload"), postback.get("title")))
    message = event.get("message")
    if not isinstance(message, dict) or message.get("is_echo"):
        return None  # delivery/read receipts, echoes of our own messages
    mid = _message_id(message, sender_id, event)
    if isinstance(quick := message.get("quick_reply"), dict) and (
        payload := _text(quick.get("payload"))
    ):
        return Incoming(mid, sender_id, payload)
    if isinstance(message.get("text"), str):
        return Incoming(mid, sender_id, message["text"])
    return Incoming(mid, sender_id, NON_TEXT)  # attachments, stickers, voice notes


def _message_id(part: dict, sender_id: str, event: dict) -> str:
    """The id a redelivery repeats: the message's ``mid``, else sender and time."""
    if mid := _id(part.get("mid")):
        return mid
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool) and 0 <= timestamp < 2**63:
        return f"{sender_id}-{timestamp}"
    raise UnknownUpdate("a message without an id or a time")


def _title(text: str) -> str:
    limit = QUICK_REPLY_TITLE_LIMIT
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def send_body(recipient_id: str, text: str, buttons: list[dict] | None = None) -> dict:
    """Send API body; Rasa buttons become quick replies."""
    message: dict = {"text": text}
    quick_replies = [
        {"content_type": "text", "title": _title(b["title"]), "payload": b["payload"]}
        for b in buttons or []
        if len(b.get("payload", "")) <= QUICK_REPLY_PAYLOAD_LIMIT
    ]
    if quick_replies:
        message["quick_replies"] = quick_replies
    return {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message}


class GraphApi(JsonApi):
    """Meta's Send API."""

    def __init__(self, page_access_token: str, base_url: str):
        super().__init__()
        self._token = page_access_token
        self._url = f"{base_url.rstrip('/')}/me/messages"

    async def send(self, body: dict) -> dict:
        status, result = await self.post(self._url, body, params={"access_token": self._token})
        if status != 200:
            raise RuntimeError(f"Messenger send failed: {status} {result}")
        return result
