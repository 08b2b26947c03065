"""Conversation ids: each channel's conversations in a namespace of their own, and the
widget's sessions issued and signed by the server.

A platform's user id (a Telegram chat id, a Messenger PSID) is guessable, and a REST
client names its conversation itself. So the id a conversation is stored under is
``<channel>:<id on that channel>``: whatever a client of one channel sends, it can only
ever reach a conversation of that channel. The widget's session ids are made by the
server and carry an HMAC of ``SESSION_SECRET``, so a browser can resume its own
session after a reload but cannot name one the server did not give it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from bot import settings

CHANNELS = ("socketio", "telegram", "facebook", "whatsapp", "rest")
ERASE_ACTION = "action_delete_my_data"  # its turn removes the conversation everywhere
WIDGET_FORGETS = {"hub_widget": "forget"}  # after an erasure, the browser's copy goes too
TRANSCRIPT_LINES = 60  # last messages of a conversation an enquiry's contact reads
SESSION_ID_BYTES = 16
SIGNATURE_HEX = 32


def conversation_id(channel: str, id_on_channel: object) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"{channel}:{id_on_channel}"


def id_on_channel(channel: str, conversation: str) -> str:
    """The platform's own id of a conversation of ``channel`` (to send it replies)."""
    prefix = f"{channel}:"
    if not conversation.startswith(prefix):
        raise ValueError(f"{conversation!r} is not a {channel} conversation")
    return conversation[len(prefix) :]


def channel_of(conversation: str) -> str:
    """The channel a stored conversation came through, from its id alone: unlike a
    message's ``input_channel``, no client can choose it."""
    channel, separator, _ = conversation.partition(":")
    return channel if separator and channel in CHANNELS else "unknown"


def _signature(session: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), session.encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_HEX]


def new_session(secret: str | None = None) -> str:
    """A widget session id: 128 random bits and their signature."""
    session = secrets.token_hex(SESSION_ID_BYTES)
    return f"{session}.{_signature(session, secret or settings.get().session_secret)}"


def is_issued_session(candidate: object, secret: str | None = None) -> bool:
    """Whether a browser's session id is one this deployment issued."""
    if not isinstance(candidate, str) or candidate.count(".") != 1:
        return False
    session, signature = candidate.split(".")
    if len(session) != 2 * SESSION_ID_BYTES:
        return False
    expected = _signature(session, secret or settings.get().session_secret)
    return hmac.compare_digest(signature.encode(), expected.encode())
