"""Per-sender rate limits in the Rasa server, for the channels that do not pass the
load balancer: the widget's socket.io and the messenger webhooks (their bodies are
signed, but a person can still flood a chat). A message over the limit is not read;
the sender is told, in the conversation's language, to slow down. Each Rasa server
counts its own senders, so with N servers behind the balancer a sender's limit is at
most N times the configured one.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter
from rasa.shared.core.trackers import DialogueStateTracker

from bot import settings
from bot.ratelimit import SenderLimits

log = logging.getLogger(__name__)

LIMITED = Counter(
    "hub_rate_limited_messages_total", "Messages not read: their sender was too fast", ["channel"]
)
RESPONSE = "utter_slow_down"


def install() -> None:
    from rasa.core.agent import Agent

    original = Agent.handle_message
    if getattr(original, "limited", False):
        return
    limits = SenderLimits(**settings.rate_limit())

    async def handle_message(self, message):
        wait = limits.allow(message.sender_id)
        if not wait:
            return await original(self, message)
        LIMITED.labels(message.input_channel or "unknown").inc()
        log.warning("over the rate limit for %.0f s more; message not read", wait)
        tracker = await self.tracker_store.retrieve(message.sender_id)
        if tracker is None:
            tracker = DialogueStateTracker(message.sender_id, self.domain.slots)
        reply = await self.nlg.generate(RESPONSE, tracker, message.output_channel.name())
        if reply:
            await message.output_channel.send_response(message.sender_id, reply)
        return None

    handle_message.limited = True
    Agent.handle_message = handle_message
