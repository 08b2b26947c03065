"""The Rasa server's Prometheus metrics, served at ``/webhooks/ops/metrics`` behind
``OPS_TOKEN`` (bot/operations.py). Defined once here, counted by the event broker
(nlu/server/broker.py), the patches (nlu/server/patches.py) and the channels'
client limits (nlu/channels/clients.py).

Every label value comes from a fixed set: each value is a series kept in memory and
scraped for ever, and a message's ``input_channel`` and intent are the client's to
choose on Rasa's HTTP API (200 invented channels made 1,414 series on one server).
"""

from __future__ import annotations

from functools import lru_cache

import yaml
from prometheus_client import Counter, Histogram

from bot.conversations import CHANNELS
from bot.settings import PROJECT_ROOT

OTHER = "other"
NO_INTENT = "none"

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
ACTION_SERVER_DOWN = Counter(
    "hub_action_server_down_answers_total",
    "Answers given without the action server (apology and both contacts)",
)
RATE_LIMITED = Counter(
    "hub_rate_limited_messages_total", "Messages not read: their sender was too fast", ["channel"]
)
CLIENT_LIMITED = Counter(
    "hub_client_limited_total",
    "REST calls, socket connections and socket messages refused: their client address "
    "sent too many",
    ["channel"],
)


def channel_label(channel: object) -> str:
    """One of the configured channels, or "other"."""
    return channel if isinstance(channel, str) and channel in CHANNELS else OTHER


@lru_cache(maxsize=1)
def known_intents() -> frozenset[str]:
    """The domain's intents (domain/*.yml, what the model was trained with) and Rasa's own."""
    from rasa.shared.core.constants import DEFAULT_INTENTS

    names = set(DEFAULT_INTENTS) | {NO_INTENT}
    for path in (PROJECT_ROOT / "domain").glob("*.yml"):
        for intent in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents", []):
            names.update(intent if isinstance(intent, dict) else [intent])
    return frozenset(names)


def intent_label(intent: object) -> str:
    """An intent of the domain, or "other"."""
    return intent if isinstance(intent, str) and intent in known_intents() else OTHER
