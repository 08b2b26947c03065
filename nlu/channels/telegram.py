"""The Telegram channel, ``/webhooks/telegram/webhook``: a thin Rasa adapter over
:mod:`bot.messengers.telegram`, which reads updates and builds replies in plain Python.

Only calls with Telegram's secret token header are read (401 without it, 403 with a
wrong one), bodies over 64 kB get 413, what is not an update the assistant reads 400,
and 404 while the channel is not configured. A redelivered update is answered once,
also on another Rasa server (ids shared in Redis when ``REDIS_HOST`` is set), and a
chat's messages are handled in order. Replies go out through aiohttp.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import conversations, logs, settings
from bot.messengers import telegram
from bot.messengers.shared_ids import seen_ids
from nlu.channels import limits
from nlu.channels.webhook import ChatOrder, read_call, refusal

log = logging.getLogger(__name__)


def _chat_id(conversation_id: str) -> int:
    return int(conversations.id_on_channel(TelegramOutput.name(), conversation_id))


class TelegramOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "telegram"

    def __init__(self, api: telegram.BotApi) -> None:
        self.api = api

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.api.call("sendMessage", telegram.send_message_body(_chat_id(recipient_id), text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        body = telegram.send_message_body(_chat_id(recipient_id), text, buttons)
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
        return cls(settings.get().telegram)

    def __init__(self, config: Optional[settings.Telegram]) -> None:
        self.config = config
        bot_id = config.access_token.partition(":")[0] if config else ""
        self.seen = seen_ids(f"telegram:{bot_id}")
        self.order = ChatOrder()
        self.output = (
            TelegramOutput(telegram.BotApi(config.access_token, config.api_base_url))
            if config
            else None
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def _refused(self, request: Request) -> Optional[HTTPResponse]:
        if self.config is None:
            return refusal(404, "the Telegram channel is not enabled")
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if secret is None:
            return refusal(401, "secret token missing")
        if not hmac.compare_digest(secret.encode(), self.config.webhook_secret.encode()):
            return refusal(403, "wrong secret token")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = limits.apply_to(Blueprint("telegram_webhook", __name__))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.config is not None})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            incoming = read_call(request, self._refused(request), telegram.read_update)
            if isinstance(incoming, HTTPResponse):
                return incoming
            if not await self.seen.first_time(incoming.update_id):
                return response.json({"status": "already handled"})
            async with self.order.of(str(incoming.chat_id)):
                await self._handle(incoming, on_new_message)
            return response.json({"status": "ok"})

        return webhook

    async def _handle(self, incoming: telegram.Incoming, on_new_message) -> None:
        conversation_id = conversations.conversation_id(self.name(), incoming.chat_id)
        conversation = logs.conversation_id.set(conversation_id)
        try:
            if incoming.callback_query_id:  # stops the button's spinner
                await self.output.api.call(
                    "answerCallbackQuery", {"callback_query_id": incoming.callback_query_id}
                )
            await on_new_message(
                UserMessage(
                    incoming.text,
                    self.output,
                    conversation_id,
                    input_channel=self.name(),
                    metadata={"language": incoming.language} if incoming.language else None,
                )
            )
        except Exception:  # the update is acknowledged either way; Telegram would resend
            log.exception("Telegram update %s could not be answered", incoming.update_id)
        finally:
            logs.conversation_id.reset(conversation)
