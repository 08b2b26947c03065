"""The event broker the endpoints files name: it counts messages, intents and
fallbacks for the operators' metrics (nlu/server/metrics.py), and forwards every event
to RabbitMQ when ``EVENT_BROKER_URL`` is set, for analytics or a data warehouse,
without which the assistant works the same.

Counting happens here because the tracker store hands the broker every new event of
every conversation, on every instance.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot import settings
from nlu.server.metrics import FALLBACKS, INTENTS, MESSAGES, channel_label, intent_label

log = logging.getLogger(__name__)

NLU_FALLBACK = "nlu_fallback"
CORE_FALLBACK = "action_default_fallback"


def count(event: dict) -> None:
    """Labels from fixed sets (nlu/server/metrics.py): the event is what a client sent
    through Rasa's HTTP API as much as what a channel made."""
    if event.get("event") == "user":
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or "none"
        MESSAGES.labels(channel_label(event.get("input_channel"))).inc()
        INTENTS.labels(intent_label(intent)).inc()
        if intent == NLU_FALLBACK:
            FALLBACKS.labels("nlu").inc()
    elif event.get("event") == "action" and event.get("name") == CORE_FALLBACK:
        FALLBACKS.labels("core").inc()


class MeteredEventBroker(EventBroker):
    def __init__(self, forward: EventBroker | None = None):
        self.forward = forward

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig, event_loop=None):
        options = settings.get().event_broker
        if options is None:
            return cls()
        from rasa.core.brokers.pika import PikaEventBroker

        url = urlsplit(options.url)
        try:
            forward = await PikaEventBroker.from_endpoint_config(
                EndpointConfig(
                    url=url.hostname,
                    port=url.port or 5672,
                    username=url.username or "guest",
                    password=url.password or "guest",
                    queues=[options.queue],
                    connection_attempts=3,
                    retry_delay_in_seconds=2,
                ),
                event_loop,
            )
        except Exception as error:  # the assistant answers without its analytics feed
            log.error("events are NOT forwarded: RabbitMQ at %s failed (%s)", url.hostname, error)
            return cls()
        log.info("events go to RabbitMQ at %s, queue %s", url.hostname, options.queue)
        return cls(forward)

    def publish(self, event: dict) -> None:
        try:
            count(event)
        except Exception:  # metrics must never cost a visitor an answer
            log.exception("could not count event %s", event.get("event"))
        if self.forward is not None:
            self.forward.publish(event)

    def is_ready(self) -> bool:
        return self.forward is None or self.forward.is_ready()

    async def close(self) -> None:
        if self.forward is not None:
            await self.forward.close()
