"""Telegram's Bot API as the assistant meets it, without Rasa: what an update means,
which updates were already handled, and what the assistant sends back.

Telegram retries an update until the webhook answers 2xx, so the same ``update_id``
can arrive twice; stickers, photos, voice notes and edited messages arrive as
updates too. Each of those becomes a message the dialogue understands (a text, a
button payload, or an intent such as ``/non_text``), so every reply, in English or
German, comes from the domain like any other. The Rasa channel that serves the
webhook is ``nlu/channels/telegram.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.messengers.api import JsonApi
from bot.messengers.updates import EDITED, NON_TEXT, UnknownUpdate

# Commands a visitor can type; the value is the message the dialogue receives.
COMMANDS = {
    "/start": "/greet",
    "/help": "/help",
    "/hilfe": "/help",
    "/english": '/switch_language{"language": "en"}',
    "/deutsch": '/switch_language{"language": "de"}',
}
LANGUAGE_COMMANDS = ("/language", "/sprache")  # "/language de"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")  # what setWebhook asks for
CALLBACK_DATA_LIMIT = 64  # bytes Telegram allows in a button's callback_data
LANGUAGE_CODE_CHARS = 35  # an IETF language tag, as Telegram's language_code


@dataclass(frozen=True)
class Incoming:
    update_id: int
    chat_id: int
    text: str  # what the dialogue receives
    language: str | None = None  # the Telegram user's interface language
    callback_query_id: str | None = None  # a button press to acknowledge


def _command(text: str) -> str:
    word, _, argument = text.strip().partition(" ")
    word = word.split("@")[0].lower()  # "/start@HubBot" in group chats
    if word in LANGUAGE_COMMANDS and argument.strip().lower()[:2] in ("en", "de"):
        return f'/switch_language{{"language": "{argument.strip().lower()[:2]}"}}'
    return COMMANDS.get(word, "/help")


def read_update(update: object) -> Incoming:
    """What an update from the webhook means; raises :class:`UnknownUpdate` for
    anything else. Total: any JSON value gives one or the other, never another error
    (a signed but malformed update must be a 400, not a 500)."""
    if not isinstance(update, dict) or (update_id := _int(update.get("update_id"))) is None:
        raise UnknownUpdate("not a Telegram update")
    if isinstance(query := update.get("callback_query"), dict):
        data, query_id = query.get("data"), query.get("id")
        return Incoming(
            update_id,
            _chat_id(query.get("message")),
            data if isinstance(data, str) else "",
            _language(query),
            query_id if isinstance(query_id, str) and query_id else None,
        )
    if isinstance(edited := update.get("edited_message"), dict):
        return Incoming(update_id, _chat_id(edited), EDITED, _language(edited))
    if isinstance(message := update.get("message"), dict):
        text = message.get("text")
        if not isinstance(text, str):
            return Incoming(update_id, _chat_id(message), NON_TEXT, _language(message))
        if text.startswith("/") and not text.startswith("//"):
            text = _command(text)
        return Incoming(update_id, _chat_id(message), text, _language(message))
    raise UnknownUpdate(f"update type not handled: {_keys(update)}")


def _int(value: object) -> int | None:
    """A Telegram id: an integer (not ``true``) of at most 64 bits, as the Bot API's."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _keys(update: dict) -> list[str]:
    """Some of an unknown update's keys, for the refusal (which the sender reads)."""
    return sorted(str(key)[:40] for key in update if key != "update_id")[:5]


def _chat_id(message: object) -> int:
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = _int(chat.get("id")) if isinstance(chat, dict) else None
    if chat_id is None:
        raise UnknownUpdate("message without a chat id")
    return chat_id


def _language(part: dict) -> str | None:
    sender = part.get("from")
    if sender is None:
        return None  # a channel post has no sender
    if not isinstance(sender, dict):
        raise UnknownUpdate("'from' is not a user")
    code = sender.get("language_code")
    return code if isinstance(code, str) and 0 < len(code) <= LANGUAGE_CODE_CHARS else None


def send_message_body(chat_id: int, text: str, buttons: list[dict] | None = None) -> dict:
    """sendMessage parameters; Rasa buttons become an inline keyboard, one per row."""
    body: dict = {"chat_id": chat_id, "text": text}
    keyboard = [
        [{"text": b["title"], "callback_data": b["payload"]}]
        for b in buttons or []
        if len(b.get("payload", "").encode("utf-8")) <= CALLBACK_DATA_LIMIT
    ]
    if keyboard:
        body["reply_markup"] = {"inline_keyboard": keyboard}
    return body


class BotApi(JsonApi):
    """The few Bot API methods the assistant calls."""

    def __init__(self, token: str, base_url: str):
        super().__init__()
        self._url = f"{base_url.rstrip('/')}/bot{token}"

    async def call(self, method: str, body: dict) -> dict:
        status, result = await self.post(f"{self._url}/{method}", body)
        if status != 200 or not result.get("ok"):
            raise RuntimeError(f"Telegram {method} failed: {status} {result}")
        return result

    async def call_once(self, method: str, body: dict) -> dict:
        """One call, then the session is closed (for command-line use)."""
        try:
            return await self.call(method, body)
        finally:
            await self.close()
