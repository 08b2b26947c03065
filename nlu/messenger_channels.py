"""Rasa channels for Telegram and Facebook Messenger: thin adapters over
``bot.messengers``.

Each webhook accepts only calls that prove they come from the platform (Telegram's
secret token header, Meta's ``X-Hub-Signature-256``) and answers everything else
with a 4xx before reading it: 401 without proof, 403 with a wrong one, 413 for a
body over 64 kB, 400 for what is not JSON or not an update the assistant reads,
404 while the channel is not configured. A redelivered update is answered once, also
when it reaches another Rasa server (ids shared in Redis when ``REDIS_HOST`` is set),
and the messages of one chat are handled one after the other, in the order they came.
Replies go out through aiohttp, never blocking the server's event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import weakref
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput as RasaFacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import logs, settings
from bot.messengers import facebook, telegram
from bot.messengers.shared_ids import seen_ids
from bot.messengers.updates import UnknownUpdate

log = logging.getLogger(__name__)


def _refusal(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def _json_body(request: Request) -> Any:
    """The parsed body, or a refusal for an oversized or malformed one."""
    if len(request.body or b"") > settings.MESSENGER_MAX_BODY_BYTES:
        return _refusal(413, "body too large")
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return _refusal(400, "body is not JSON")


class _ChatOrder:
    """One lock per chat, so a chat's messages are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def of(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock


# --- Telegram ---------------------------------------------------------------------


class TelegramOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "telegram"

    def __init__(self, api: telegram.BotApi) -> None:
        self.api = api

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.api.call("sendMessage", telegram.send_message_body(int(recipient_id), text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        body = telegram.send_message_body(int(recipient_id), text, buttons)
        await self.api.call("sendMessage", body)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


class TelegramInput(InputChannel):
    """``/webhooks/telegram/webhook``; enabled by ``TELEGRAM_ACCESS_TOKEN`` and
    ``TELEGRAM_WEBHOOK_SECRET`` (bot/settings.py)."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(settings.telegram())

    def __init__(self, config: Optional[Dict[Text, str]]) -> None:
        self.config = config
        bot_id = config["access_token"].partition(":")[0] if config else ""
        self.seen = seen_ids(f"telegram:{bot_id}")
        self.order = _ChatOrder()
        self.output = (
            TelegramOutput(telegram.BotApi(config["access_token"], config["api_base_url"]))
            if config
            else None
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def _refused(self, request: Request) -> Optional[HTTPResponse]:
        if self.config is None:
            return _refusal(404, "the Telegram channel is not enabled")
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if secret is None:
            return _refusal(401, "secret token missing")
        if not hmac.compare_digest(secret.encode(), self.config["webhook_secret"].encode()):
            return _refusal(403, "wrong secret token")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.config is not None})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refused(request)
            if refusal is not None:
                return refusal
            update = _json_body(request)
            if isinstance(update, HTTPResponse):
                return update
            try:
                incoming = telegram.read_update(update)
            except UnknownUpdate as error:
                return _refusal(400, str(error))
            if not await self.seen.first_time(incoming.update_id):
                return response.json({"status": "already handled"})
            async with self.order.of(str(incoming.chat_id)):
                await self._handle(incoming, on_new_message)
            return response.json({"status": "ok"})

        return webhook

    async def _handle(self, incoming: telegram.Incoming, on_new_message) -> None:
        conversation = logs.conversation_id.set(str(incoming.chat_id))
        try:
            if incoming.callback_query_id:  # stops the button's spinner
                await self.output.api.call(
                    "answerCallbackQuery", {"callback_query_id": incoming.callback_query_id}
                )
            await on_new_message(
                UserMessage(
                    incoming.text,
                    self.output,
                    str(incoming.chat_id),
                    input_channel=self.name(),
                    metadata={"language": incoming.language} if incoming.language else None,
                )
            )
        except Exception:  # the update is acknowledged either way; Telegram would resend
            log.exception("Telegram update %s could not be answered", incoming.update_id)
        finally:
            logs.conversation_id.reset(conversation)


# --- Facebook Messenger -------------------------------------------------------------


class FacebookOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, api: facebook.GraphApi) -> None:
        self.api = api

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.api.send(facebook.send_body(recipient_id, text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.api.send(facebook.send_body(recipient_id, text, buttons))

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


class FacebookInput(RasaFacebookInput):
    """Rasa's Messenger channel (``/webhooks/facebook/webhook``, verify-token handshake)
    with Meta's SHA-256 signature enforced and replies sent without blocking. Enabled by
    ``FACEBOOK_VERIFY_TOKEN``, ``FACEBOOK_APP_SECRET`` and ``FACEBOOK_PAGE_ACCESS_TOKEN``."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(settings.facebook())

    def __init__(self, config: Optional[Dict[Text, str]]) -> None:
        config = config or {}
        super().__init__(
            config.get("verify_token", ""),
            config.get("app_secret", ""),
            config.get("page_access_token", ""),
        )
        self.enabled = bool(config)
        self.seen = seen_ids("facebook")
        self.order = _ChatOrder()
        self.output = (
            FacebookOutput(facebook.GraphApi(config["page_access_token"], config["api_base_url"]))
            if config
            else None
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def _refused(self, request: Request) -> Optional[HTTPResponse]:
        if not self.enabled:
            return _refusal(404, "the Facebook Messenger channel is not enabled")
        signature = request.headers.get("X-Hub-Signature-256")
        if signature is None:
            return _refusal(401, "signature missing")
        if not facebook.signature_is_valid(self.fb_secret, request.body or b"", signature):
            return _refusal(403, "wrong signature")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("fb_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.enabled})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if self.enabled and hmac.compare_digest(token.encode(), self.fb_verify.encode()):
                return response.text(request.args.get("hub.challenge") or "")
            return _refusal(403, "wrong verify token")

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refused(request)
            if refusal is not None:
                return refusal
            payload = _json_body(request)
            if isinstance(payload, HTTPResponse):
                return payload
            try:
                events = facebook.read_events(payload)
            except UnknownUpdate as error:
                return _refusal(400, str(error))
            for incoming in events:
                if await self.seen.first_time(incoming.message_id):
                    async with self.order.of(incoming.sender_id):
                        await self._handle(incoming, on_new_message)
            return response.text("success")

        return webhook

    async def _handle(self, incoming: facebook.Incoming, on_new_message) -> None:
        conversation = logs.conversation_id.set(incoming.sender_id)
        try:
            await on_new_message(
                UserMessage(
                    incoming.text, self.output, incoming.sender_id, input_channel=self.name()
                )
            )
        except Exception:  # acknowledged either way; Meta would resend
            log.exception("Messenger message %s could not be answered", incoming.message_id)
        finally:
            logs.conversation_id.reset(conversation)
