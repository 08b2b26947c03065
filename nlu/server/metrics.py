"""The Rasa server's Prometheus metrics, served at ``/webhooks/ops/metrics`` behind
``OPS_TOKEN`` (bot/operations.py). Defined once here, counted by the event broker
(nlu/server/broker.py) and the patches (nlu/server/patches.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
