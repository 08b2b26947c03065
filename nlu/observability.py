"""What the Rasa server tells operators: Prometheus metrics of messages, intents,
fallbacks and answer times, and the conversation id on every log line written while
a message is handled.

Counting happens in Rasa's event broker interface (:class:`MeteredEventBroker`): the
tracker store hands it every new event of every conversation, on every instance. It
also forwards the events to RabbitMQ when ``EVENT_BROKER_URL`` is set, for analytics
or a data warehouse, without which the assistant works the same. Answer times are
measured around ``Agent.handle_message``, so they include waiting for the
conversation's lock, as the visitor waits for it.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from prometheus_client import Counter, Histogram
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot import logs, settings

log = logging.getLogger(__name__)

MESSAGES = Counter("hub_messages_total", "Messages from visitors, by channel", ["channel"])
INTENTS = Counter("hub_intents_total", "Messages by the intent they were read as", ["intent"])
FALLBACKS = Counter(
    "hub_fallbacks_total",
    "Messages the assistant was unsure of (nlu: intent unclear; core: next step unclear)",
    ["kind"],
)
ANSWER_SECONDS = Histogram(
    "hub_answer_seconds",
    "Time from receiving a visitor's message to having its answers, by channel",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
NLU_FALLBACK = "nlu_fallback"
CORE_FALLBACK = "action_default_fallback"


def count(event: dict) -> None:
    if event.get("event") == "user":
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or "none"
        MESSAGES.labels(event.get("input_channel") or "unknown").inc()
        INTENTS.labels(intent).inc()
        if intent == NLU_FALLBACK:
            FALLBACKS.labels("nlu").inc()
    elif event.get("event") == "action" and event.get("name") == CORE_FALLBACK:
        FALLBACKS.labels("core").inc()


class MeteredEventBroker(EventBroker):
    def __init__(self, forward: EventBroker | None = None):
        self.forward = forward

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig, event_loop=None):
        options = settings.event_broker()
        if options is None:
            return cls()
        from rasa.core.brokers.pika import PikaEventBroker

        url = urlsplit(options["url"])
        try:
            forward = await PikaEventBroker.from_endpoint_config(
                EndpointConfig(
                    url=url.hostname,
                    port=url.port or 5672,
                    username=url.username or "guest",
                    password=url.password or "guest",
                    queues=[options["queue"]],
                    connection_attempts=3,
                    retry_delay_in_seconds=2,
                ),
                event_loop,
            )
        except Exception as error:  # the assistant answers without its analytics feed
            log.error("events are NOT forwarded: RabbitMQ at %s failed (%s)", url.hostname, error)
            return cls()
        log.info("events go to RabbitMQ at %s, queue %s", url.hostname, options["queue"])
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


def install() -> None:
    """Measure answer times and name the conversation in log lines."""
    from rasa.core.agent import Agent

    original = Agent.handle_message
    if getattr(original, "observed", False):
        return

    async def handle_message(self, message):
        token = logs.conversation_id.set(message.sender_id)
        started = time.perf_counter()
        try:
            return await original(self, message)
        finally:
            ANSWER_SECONDS.labels(message.input_channel or "unknown").observe(
                time.perf_counter() - started
            )
            logs.conversation_id.reset(token)

    handle_message.observed = True
    Agent.handle_message = handle_message
    logs.configure("rasa")
