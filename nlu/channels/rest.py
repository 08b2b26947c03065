"""Rasa's REST channel, ``/webhooks/rest/webhook``, for integrations, tests and
operators, not for visitors (they have the widget and the messengers).

- A REST client names its conversation itself, so its ids live in the ``rest:``
  namespace (bot/conversations.py): it can never reach a widget, Telegram or Messenger
  conversation, whatever ``sender`` it sends.
- The channel recorded for its messages is ``rest``, not the ``input_channel`` the
  client sends (that became an enquiry's channel and a metrics label).
- With ``REST_TOKEN`` set (``make run-prod`` sets one) every call needs
  ``Authorization: Bearer $REST_TOKEN``; unset, the channel is open, as on a
  developer's machine where the Rasa server listens on loopback only.
- A body is read once, through the messengers' checked JSON reader
  (nlu/channels/webhook.py), and Rasa's handler is given that parse: over 64 kB gets
  413, a body that is not an object with a text ``sender`` and ``message`` (and an
  object ``metadata``, if any) 400, never a 500 or the shared conversation "default".
- A client address over its limit gets 429 before all that (nlu/channels/clients.py),
  and so does a conversation over its own (the message is not read).
"""

from __future__ import annotations

from typing import Any, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import conversations, settings, tokens
from nlu.channels import clients, limits
from nlu.channels.webhook import json_body, refusal

MAX_SENDER_CHARS = 200  # the conversation id column holds 255


def message_body(request: Any) -> dict | HTTPResponse:
    """The body of a message call, or the refusal to answer (413, 400). Checked here
    because Rasa's handler trusts the shape: it answers 500 for a list or a ``message``
    that is not a text, and hands ``metadata`` of any kind to the actions."""
    body = json_body(request)
    if isinstance(body, HTTPResponse):
        return body
    if not isinstance(body, dict):
        return refusal(400, "the body must be a JSON object")
    sender = body.get("sender")
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
        return refusal(400, f"'sender' must be a text of 1 to {MAX_SENDER_CHARS} characters")
    if not isinstance(body.get("message"), str):
        return refusal(400, "'message' must be a text")
    if not isinstance(body.get("metadata"), (dict, type(None))):
        return refusal(400, "'metadata' must be an object")
    return body


class NamespacedRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return conversations.conversation_id(self.name(), req.json["sender"])

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message):
        blueprint = limits.apply_to(super().blueprint(on_new_message))
        clients.guard(blueprint, self.name())  # per client address, before the body is parsed
        token = settings.get().rest_token

        @blueprint.middleware("request")
        async def refuse_unauthorised_or_unreadable(request: Request):
            if request.method != "POST":
                return None
            if token is not None:
                if not tokens.matches(request.headers.get("Authorization"), token):
                    return refusal(401, "this channel needs the REST token")
            message = message_body(request)
            if isinstance(message, HTTPResponse):
                return message
            request.parsed_json = message  # what Rasa's handler reads: this checked parse
            request.ctx.slowed_down = clients.note_slow_downs()
            return None

        @blueprint.middleware("response")
        async def too_many_from_this_sender(request: Request, _response: HTTPResponse):
            waits = getattr(request.ctx, "slowed_down", None)
            return clients.too_many(max(waits), "messages in this conversation") if waits else None

        return blueprint
