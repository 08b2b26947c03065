"""The WhatsApp channel, ``/webhooks/whatsapp/webhook``: a thin Rasa adapter over
:mod:`bot.messengers.whatsapp` (Meta's Cloud API), which reads the calls and builds the
replies in plain Python.

- ``GET`` answers Meta's verification handshake (``hub.mode=subscribe``, the verify
  token compared in constant time, ``hub.challenge`` echoed).
- Every ``POST`` must carry ``X-Hub-Signature-256`` over the raw body: 401 without,
  403 wrong, and nothing of it is read. Bodies over 64 kB get 413, what is not a
  WhatsApp call 400, and 404 while the channel is not configured.
- A call is acknowledged at once and its messages are answered after: Meta redelivers
  a call that is not answered quickly, which would make visitors wait and get answers
  twice. A message id already handled (on any Rasa server, in Redis when
  ``REDIS_HOST`` is set) is skipped before the acknowledgement, and a chat's messages
  are answered one after the other, in the order they came.
- The visitor's WhatsApp profile carries no language; the text decides it, as on the
  other channels.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import yaml
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import conversations, logs, settings
from bot.messengers import whatsapp
from bot.messengers.facebook import signature_is_valid
from bot.messengers.shared_ids import seen_ids
from nlu.channels import limits
from nlu.channels.webhook import ChatOrder, read_call, refusal, verification

log = logging.getLogger(__name__)

WORDS = settings.PROJECT_ROOT / "data" / "channels.yml"
DRAIN_SECONDS = 20  # how long a stopping server finishes the answers it acknowledged


def _wa_id(conversation_id: str) -> str:
    return conversations.id_on_channel(WhatsAppOutput.name(), conversation_id)


def response_language(kwargs: dict) -> str:
    """The language of the response Rasa chose: its condition on the ``language`` slot
    (domain/*.yml), English for a response without one."""
    for condition in kwargs.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return str(condition.get("value"))
    return "en"


class WhatsAppOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    def __init__(self, api: whatsapp.CloudApi, list_buttons: Dict[str, str]) -> None:
        self.api = api
        self.list_buttons = list_buttons  # the list message's opener, by language

    async def _send_all(self, bodies: List[dict]) -> None:
        for body in bodies:
            await self.api.send(body)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_all(whatsapp.text_bodies(_wa_id(recipient_id), text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        label = self.list_buttons.get(response_language(kwargs), self.list_buttons["en"])
        await self._send_all(whatsapp.reply_bodies(_wa_id(recipient_id), text, buttons, label))

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.api.send(whatsapp.image_body(_wa_id(recipient_id), image))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict, **kwargs) -> None:
        """Custom JSON is for the web widget; WhatsApp has nothing to show for it."""


class WhatsAppInput(InputChannel):
    """Enabled by ``WHATSAPP_ACCESS_TOKEN``, ``WHATSAPP_APP_SECRET``,
    ``WHATSAPP_VERIFY_TOKEN`` and ``WHATSAPP_PHONE_NUMBER_ID`` (docs/messengers.md)."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(settings.get().whatsapp)

    def __init__(self, config: Optional[settings.WhatsApp]) -> None:
        self.config = config
        self.seen = seen_ids("whatsapp")
        self.order = ChatOrder()
        self.answering: set[asyncio.Task] = set()  # acknowledged, not yet answered
        self.output = None
        if config:
            words = yaml.safe_load(WORDS.read_text(encoding="utf-8"))["whatsapp"]
            api = whatsapp.CloudApi(
                config.access_token, config.phone_number_id, config.api_base_url
            )
            self.output = WhatsAppOutput(api, words["list_button"])

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def _refused(self, request: Request) -> Optional[HTTPResponse]:
        if self.config is None:
            return refusal(404, "the WhatsApp channel is not enabled")
        signature = request.headers.get("X-Hub-Signature-256")
        if signature is None:
            return refusal(401, "signature missing")
        if not signature_is_valid(self.config.app_secret, request.body or b"", signature):
            return refusal(403, "wrong signature")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = limits.apply_to(Blueprint("whatsapp_webhook", __name__))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.config is not None})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if self.config is None:
                return refusal(404, "the WhatsApp channel is not enabled")
            subscribing = request.args.get("hub.mode") == "subscribe"
            return verification(request, self.config.verify_token if subscribing else None)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            messages = read_call(
                request,
                self._refused(request),
                lambda payload: whatsapp.read_messages(payload, self.config.phone_number_id),
            )
            if isinstance(messages, HTTPResponse):
                return messages
            for incoming in messages:
                if await self.seen.first_time(incoming.message_id):
                    task = asyncio.create_task(self._answer(incoming, on_new_message))
                    self.answering.add(task)
                    task.add_done_callback(self.answering.discard)
            return response.json({"status": "ok"})

        @webhook.listener("before_server_stop")
        async def finish_answering(_app, _loop) -> None:
            if self.answering:
                await asyncio.wait(set(self.answering), timeout=DRAIN_SECONDS)

        return webhook

    async def _answer(self, incoming: whatsapp.Incoming, on_new_message) -> None:
        conversation_id = conversations.conversation_id(self.name(), incoming.sender_id)
        async with self.order.of(incoming.sender_id):
            conversation = logs.conversation_id.set(conversation_id)
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text, self.output, conversation_id, input_channel=self.name()
                    )
                )
            except Exception:  # acknowledged already: logged, and the next message goes on
                log.exception("WhatsApp message %s could not be answered", incoming.message_id)
            finally:
                logs.conversation_id.reset(conversation)
