"""A flood from one client cannot starve the others, against the real Rasa server with
no proxy in front, and behind nginx, the front door: rotating sender ids from one address gets
429 after the client burst (REST) or a request to slow down (socket.io) while another
address is answered; a forged X-Forwarded-For changes nothing; invented channels and
intents leave the metrics' labels a fixed set.

Linux loopback takes any 127.x address as a source, so each test's clients come from an
address of their own (127.0.0.1 is the front door's, and trusted)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
import uuid
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot.conversations import CHANNELS
from harness.production import front_door, unavailable
from harness.servers import running_assistant
from nlu.server.metrics import known_intents
from tests.support.metrics import label_values, samples
from tests.support.responses import says
from tests.support.widget import Widget

pytestmark = pytest.mark.e2e

CLIENT_BURST = 8
OPS_TOKEN = uuid.uuid4().hex
API_TOKEN = uuid.uuid4().hex


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    env = {
        "RATE_LIMIT_CLIENT_BURST": str(CLIENT_BURST),
        "RATE_LIMIT_CLIENT_PER_MINUTE": "1",  # no refill worth the name while a test runs
        "OPS_TOKEN": OPS_TOKEN,
    }
    with running_assistant(
        tmp_path_factory.mktemp("client-limits"),
        extra_env=env,
        auth_token=API_TOKEN,
        endpoints_extra="event_broker:\n  type: nlu.server.broker.MeteredEventBroker\n",
    ) as running:
        yield running


@asynccontextmanager
async def client_from(address: str):
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        yield session


async def rest(session, url: str, sender: str, text: str = "hello", **headers) -> tuple:
    """(status, Retry-After, body, seconds) of one REST message."""
    started = time.perf_counter()
    body = {"sender": sender, "message": text}
    async with session.post(f"{url}/webhooks/rest/webhook", json=body, headers=headers) as answer:
        payload = await answer.json(content_type=None)
        return (
            answer.status,
            answer.headers.get("Retry-After"),
            payload,
            time.perf_counter() - started,
        )


def user_texts(assistant, sender: str) -> list[str]:
    return [e["text"] for e in assistant.tracker(sender)["events"] if e["event"] == "user"]


def test_rotating_sender_ids_from_one_address_get_429_after_the_burst_while_another_is_answered(
    assistant,
):
    async def flood():
        async with client_from("127.0.0.2") as noisy, client_from("127.0.0.3") as calm:
            senders = [uuid.uuid4().hex for _ in range(3 * CLIENT_BURST)]
            answers = [await rest(noisy, assistant.url, sender) for sender in senders]
            other = [await rest(calm, assistant.url, "calm", "what is spinlab?") for _ in range(2)]
            return senders, answers, other

    senders, answers, other = asyncio.run(flood())
    statuses = [status for status, *_ in answers]
    assert statuses == [200] * CLIENT_BURST + [429] * (2 * CLIENT_BURST)
    assert all(int(wait) >= 1 for status, wait, *_ in answers if status == 429)
    assert [status for status, *_ in other] == [200, 200]
    assert "SpinLab" in json.dumps(other[0][2])
    assert all(user_texts(assistant, s) == [] for s in senders[CLIENT_BURST:])  # never read
    answered = statistics.median(seconds for status, *_, seconds in answers if status == 200)
    refused = statistics.median(seconds for status, *_, seconds in answers if status == 429)
    print(f"\nREST median: answered {1000 * answered:.1f} ms, refused {1000 * refused:.1f} ms")
    assert refused < answered


def test_a_forged_x_forwarded_for_from_an_untrusted_address_is_ignored(assistant):
    async def forge():
        async with client_from("127.0.0.4") as forger:
            return [
                (await rest(forger, assistant.url, f"f{n}", **{"X-Forwarded-For": f"10.9.8.{n}"}))[
                    0
                ]
                for n in range(CLIENT_BURST + 3)
            ]

    assert asyncio.run(forge()) == [200] * CLIENT_BURST + [429] * 3


needs_nginx = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@needs_nginx
def test_through_the_front_door_the_rasa_server_limits_the_client_nginx_names(assistant, tmp_path):
    """The front door's own limit (60) is above the Rasa server's here, so the 429s come
    from the Rasa server, which counts the address in nginx's X-Forwarded-For: if it
    counted its peer, nginx, the second client would be refused too."""

    async def flood(url: str):
        async with client_from("127.0.0.5") as noisy, client_from("127.0.0.6") as calm:
            answers = [await rest(noisy, url, uuid.uuid4().hex) for _ in range(CLIENT_BURST + 4)]
            other = await rest(calm, url, "calm-behind-the-front-door")
            return [status for status, *_ in answers], answers[-1][2], other[0]

    with front_door([assistant.url], tmp_path / "nginx.log") as url:
        statuses, refusal, other = asyncio.run(flood(url))
    assert statuses == [200] * CLIENT_BURST + [429] * 4
    assert "from your address" in refusal["error"]  # the Rasa server's words
    assert other == 200


@needs_nginx
def test_the_front_door_limits_rotating_sender_ids_itself(assistant, tmp_path):
    async def flood(url: str):
        async with client_from("127.0.0.7") as noisy, client_from("127.0.0.8") as calm:
            answers = [await rest(noisy, url, uuid.uuid4().hex) for _ in range(6)]
            return answers, (await rest(calm, url, "calm-at-the-door"))[0]

    below_the_rasa_servers = {"RATE_LIMIT_CLIENT_BURST": "3", "RATE_LIMIT_CLIENT_PER_MINUTE": "1"}
    with front_door([assistant.url], tmp_path / "nginx.log", **below_the_rasa_servers) as url:
        answers, other = asyncio.run(flood(url))
    assert [status for status, *_ in answers] == [200] * 3 + [429] * 3
    assert int(answers[-1][1]) == 60  # Retry-After: one request a minute comes back
    assert "from your address" in answers[-1][2]["error"]
    assert other == 200


def test_sockets_from_one_address_are_refused_after_the_burst_while_another_is_served(
    assistant,
):
    async def connections():
        refused = 0
        async with client_from("127.0.0.9") as noisy:
            for _ in range(CLIENT_BURST + 2):
                widget = Widget(assistant.url, noisy)
                refused += not await widget.is_accepted()
                await widget.close()
        async with client_from("127.0.0.10") as calm:
            widget = Widget(assistant.url, calm)
            await widget.connect()
            answer = await widget.says("what is spinlab?")
            await widget.close()
        return refused, answer

    refused, answer = asyncio.run(connections())
    assert refused == 2
    assert "SpinLab" in answer


def test_messages_from_a_socket_over_its_addresss_limit_are_answered_with_a_slow_down(
    assistant,
):
    async def chat():
        async with client_from("127.0.0.11") as session:
            widget = Widget(assistant.url, session)
            await widget.connect()  # one of the burst
            replies = [await widget.says("what is spinlab?") for _ in range(CLIENT_BURST + 1)]
            await widget.close()
            return replies

    replies = asyncio.run(chat())
    slowed = [reply for reply in replies if says(reply, "utter_slow_down", "en")]
    assert len(slowed) == 2 and not any(says(r, "utter_slow_down", "en") for r in replies[:-2])


def test_invented_channels_and_intents_leave_the_metrics_labels_a_fixed_set(assistant):
    events = [
        {
            "event": "user",
            "text": "hello",
            "input_channel": f"invented-{n}",
            "parse_data": {"intent": {"name": f"invented_{n}", "confidence": 1.0}, "entities": []},
        }
        for n in range(200)
    ]
    metrics_url = f"{assistant.url}/webhooks/ops/metrics"
    before = samples(metrics_url, OPS_TOKEN)
    url = f"{assistant.url}/conversations/rest:{uuid.uuid4().hex}/tracker/events?token={API_TOKEN}"
    request = urllib.request.Request(
        url, data=json.dumps(events).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
    metrics = samples(metrics_url, OPS_TOKEN)
    assert "other" in label_values(metrics, "hub_messages_total", "channel")
    assert label_values(metrics, "hub_messages_total", "channel") <= {*CHANNELS, "other"}
    assert label_values(metrics, "hub_intents_total", "intent") <= known_intents() | {"other"}
    grown = len(metrics) - len(before)
    print(f"\nseries before 200 invented channels and intents: {len(before)}, after: +{grown}")
    assert grown <= 4  # "other" for the channel and the intent: _total and _created each
