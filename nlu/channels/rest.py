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
"""

from __future__ import annotations

import json
from typing import Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from bot import conversations, settings, tokens
from nlu.channels.webhook import refusal

MAX_SENDER_CHARS = 200  # the conversation id column holds 255


class NamespacedRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return conversations.conversation_id(self.name(), req.json["sender"])

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        token = settings.get().rest_token

        @blueprint.middleware("request")
        async def refuse_unauthorised_or_unreadable(request: Request):
            if request.method != "POST":
                return None
            if token is not None:
                if not tokens.matches(request.headers.get("Authorization"), token):
                    return refusal(401, "this channel needs the REST token")
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return refusal(400, "body is not JSON")
            sender = body.get("sender") if isinstance(body, dict) else None
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
                return refusal(
                    400, f"'sender' must be a text of 1 to {MAX_SENDER_CHARS} characters"
                )
            return None

        return blueprint
