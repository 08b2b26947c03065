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

import json
from dataclasses import dataclass

import aiohttp

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
    """What an update from the webhook means; raises :class:`UnknownUpdate`."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise UnknownUpdate("not a Telegram update")
    update_id = update["update_id"]
    if isinstance(query := update.get("callback_query"), dict):
        message = query.get("message") or {}
        return Incoming(
            update_id,
            _chat_id(message),
            str(query.get("data") or ""),
            _language(query),
            str(query.get("id") or "") or None,
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
    raise UnknownUpdate(f"update type not handled: {sorted(set(update) - {'update_id'})}")


def _chat_id(message: dict) -> int:
    chat_id = (message.get("chat") or {}).get("id")
    if not isinstance(chat_id, int):
        raise UnknownUpdate("message without a chat id")
    return chat_id


def _language(part: dict) -> str | None:
    return (part.get("from") or {}).get("language_code")


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


class BotApi:
    """The few Bot API methods the assistant calls, over one aiohttp session."""

    def __init__(self, token: str, base_url: str):
        self._url = f"{base_url.rstrip('/')}/bot{token}"
        self._session: aiohttp.ClientSession | None = None

    async def call(self, method: str, body: dict) -> dict:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        async with self._session.post(
            f"{self._url}/{method}",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        ) as response:
            result = await response.json(content_type=None)
            if response.status != 200 or not result.get("ok"):
                raise RuntimeError(f"Telegram {method} failed: {response.status} {result}")
            return result

    async def call_once(self, method: str, body: dict) -> dict:
        """One call, then the session is closed (for command-line use)."""
        try:
            return await self.call(method, body)
        finally:
            if self._session:
                await self._session.close()
