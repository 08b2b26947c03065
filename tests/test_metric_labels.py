"""The Rasa server's metric labels come from fixed sets: a message's ``input_channel``
and intent are the client's to choose on Rasa's HTTP API, and each new value was a
series kept for ever (200 invented channels made 1,414 series on one server). Also:
a socket whose client address is over its limit is asked to slow down, unread."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

from prometheus_client import generate_latest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.conversations import CHANNELS
from nlu.channels import clients
from nlu.server import broker, patches
from nlu.server.metrics import channel_label, intent_label, known_intents
from tests.support.metrics import label_values, parse

CHANNEL_LABELS = {*CHANNELS, "other"}


def labels(name: str, label: str) -> set[str]:
    return label_values(parse(generate_latest().decode()), name, label)


def invented_user_event(n: int) -> dict:
    """What ``POST /conversations/{id}/tracker/events`` stores, and the broker counts."""
    return {
        "event": "user",
        "text": "hello",
        "input_channel": f"invented-{n}",
        "parse_data": {"intent": {"name": f"invented_intent_{n}"}},
    }


def test_invented_channels_and_intents_leave_the_brokers_labels_a_fixed_set():
    for n in range(200):
        broker.count(invented_user_event(n))
    broker.count({"event": "user", "input_channel": "rest", "parse_data": {}})
    assert labels("hub_messages_total", "channel") <= CHANNEL_LABELS
    assert {"other", "rest"} <= labels("hub_messages_total", "channel")
    assert labels("hub_intents_total", "intent") <= known_intents() | {"other"}


def test_labels_are_the_configured_channels_and_the_domains_intents():
    assert [channel_label(c) for c in ("socketio", "rest", "REST", None, ["rest"])] == [
        "socketio",
        "rest",
        "other",
        "other",
        "other",
    ]
    assert {"greet", "nlu_fallback", "none"} <= known_intents()
    assert intent_label("greet") == "greet"
    assert intent_label({"not": "hashable"}) == intent_label("made_up") == "other"


class Agent:
    """What the patched ``Agent.handle_message`` uses of Rasa's agent."""

    def __init__(self):
        self.read: list[str] = []
        self.tracker_store = SimpleNamespace(retrieve=self._nothing)
        self.nlg = SimpleNamespace(generate=self._slow_down)
        self.domain = SimpleNamespace(slots=[])

    async def _nothing(self, _sender):
        return None

    async def _slow_down(self, response, _tracker, _channel, **_values):
        return {"text": f"<{response}>"}

    async def original(self, agent, message):
        self.read.append(message.text)
        return []


def handle_message(agent: Agent):
    return patches._handling_messages(agent.original)


def test_invented_channels_leave_the_answer_time_labels_a_fixed_set():
    agent = Agent()
    handle = handle_message(agent)

    async def messages():
        for n in range(200):
            output = CollectingOutputChannel()
            sender = f"rest:{uuid.uuid4().hex}"
            await handle(agent, UserMessage("hi", output, sender, input_channel=f"made-up-{n}"))

    asyncio.run(messages())
    assert len(agent.read) == 200
    assert labels("hub_answer_seconds_count", "channel") <= CHANNEL_LABELS


def test_a_socket_over_its_addresss_limit_is_asked_to_slow_down_and_not_read():
    agent = Agent()
    handle = handle_message(agent)
    output = CollectingOutputChannel()
    sender = f"socketio:{uuid.uuid4().hex}"

    async def messages():
        with clients.over_limit(4.0):
            await handle(agent, UserMessage("flood", output, sender, input_channel="socketio"))
        await handle(agent, UserMessage("calm", output, sender, input_channel="socketio"))

    asyncio.run(messages())
    assert agent.read == ["calm"]
    assert [m["text"] for m in output.messages] == ["<utter_slow_down>"]
    assert clients.over_limit_for() == 0
    assert labels("hub_rate_limited_messages_total", "channel") <= CHANNEL_LABELS
