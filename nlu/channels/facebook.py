"""The Facebook Messenger channel, ``/webhooks/facebook/webhook``: Rasa's own, as a thin
adapter over :mod:`bot.messengers.facebook` (reading events, building replies).

Every POST must carry Meta's ``X-Hub-Signature-256`` over the raw body (401 without,
403 wrong); oversized bodies get 413, malformed ones 400, and 404 while the channel is
not configured. A redelivery is answered once, also on another Rasa server, and one
sender's messages are handled in order. Replies go out through aiohttp.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput as RasaFacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import conversations, logs, settings
from bot.messengers import facebook
from bot.messengers.shared_ids import seen_ids
from nlu.channels import limits
from nlu.channels.webhook import ChatOrder, read_call, refusal, verification

log = logging.getLogger(__name__)


def _psid(conversation_id: str) -> str:
    return conversations.id_on_channel(FacebookOutput.name(), conversation_id)


class FacebookOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, api: facebook.GraphApi) -> None:
        self.api = api

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.api.send(facebook.send_body(_psid(recipient_id), text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.api.send(facebook.send_body(_psid(recipient_id), text, buttons))

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
        return cls(settings.get().facebook)

    def __init__(self, config: Optional[settings.Facebook]) -> None:
        super().__init__(
            config.verify_token if config else "",
            config.app_secret if config else "",
            config.page_access_token if config else "",
        )
        self.enabled = config is not None
        self.seen = seen_ids("facebook")
        self.order = ChatOrder()
        self.output = (
            FacebookOutput(facebook.GraphApi(config.page_access_token, config.api_base_url))
            if config
            else None
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def _refused(self, request: Request) -> Optional[HTTPResponse]:
        if not self.enabled:
            return refusal(404, "the Facebook Messenger channel is not enabled")
        signature = request.headers.get("X-Hub-Signature-256")
        if signature is None:
            return refusal(401, "signature missing")
        if not facebook.signature_is_valid(self.fb_secret, request.body or b"", signature):
            return refusal(403, "wrong signature")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = limits.apply_to(Blueprint("fb_webhook", __name__))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.enabled})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return verification(request, self.fb_verify if self.enabled else None)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            events = read_call(request, self._refused(request), facebook.read_events)
            if isinstance(events, HTTPResponse):
                return events
            for incoming in events:
                if await self.seen.first_time(incoming.message_id):
                    async with self.order.of(incoming.sender_id):
                        await self._handle(incoming, on_new_message)
            return response.text("success")

        return webhook

    async def _handle(self, incoming: facebook.Incoming, on_new_message) -> None:
        conversation_id = conversations.conversation_id(self.name(), incoming.sender_id)
        conversation = logs.conversation_id.set(conversation_id)
        try:
            await on_new_message(
                UserMessage(incoming.text, self.output, conversation_id, input_channel=self.name())
            )
        except Exception:  # acknowledged either way; Meta would resend
            log.exception("Messenger message %s could not be answered", incoming.message_id)
        finally:
            logs.conversation_id.reset(conversation)
