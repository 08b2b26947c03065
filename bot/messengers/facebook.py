"""Facebook Messenger (Meta's Send API and webhooks) as the assistant meets it,
without Rasa: the signature that proves a webhook call comes from Meta, what the
events mean, and what the assistant sends back. WhatsApp's Cloud API signs its
webhooks the same way (``X-Hub-Signature-256``). The Rasa channel that serves the
webhook is ``nlu/channels/facebook.py``."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import aiohttp

from bot.messengers.updates import NON_TEXT, UnknownUpdate

QUICK_REPLY_TITLE_LIMIT = 20  # characters Messenger shows on a quick reply
QUICK_REPLY_PAYLOAD_LIMIT = 1000


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
    """The visitor messages in one webhook call; raises :class:`UnknownUpdate`."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        raise UnknownUpdate("not a Messenger page event")
    found = []
    for entry in payload.get("entry") or []:
        for event in (entry or {}).get("messaging") or []:
            if incoming := _read_event(event):
                found.append(incoming)
    return found


def _read_event(event: dict) -> Incoming | None:
    sender = str((event.get("sender") or {}).get("id") or "")
    if not sender:
        return None
    if isinstance(postback := event.get("postback"), dict):
        mid = str(postback.get("mid") or f"{sender}-{event.get('timestamp')}")
        return Incoming(mid, sender, str(postback.get("payload") or postback.get("title") or ""))
    message = event.get("message")
    if not isinstance(message, dict) or message.get("is_echo"):
        return None  # delivery/read receipts, echoes of our own messages
    mid = str(message.get("mid") or f"{sender}-{event.get('timestamp')}")
    if isinstance(quick := message.get("quick_reply"), dict) and quick.get("payload"):
        return Incoming(mid, sender, str(quick["payload"]))
    if isinstance(message.get("text"), str):
        return Incoming(mid, sender, message["text"])
    return Incoming(mid, sender, NON_TEXT)  # attachments, stickers, voice notes


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


class GraphApi:
    """Meta's Send API over one aiohttp session."""

    def __init__(self, page_access_token: str, base_url: str):
        self._token = page_access_token
        self._url = f"{base_url.rstrip('/')}/me/messages"
        self._session: aiohttp.ClientSession | None = None

    async def send(self, body: dict) -> dict:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        async with self._session.post(
            self._url,
            params={"access_token": self._token},
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        ) as response:
            result = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"Messenger send failed: {response.status} {result}")
            return result
