"""Several Rasa servers sharing conversations through the real PostgreSQL tracker
store and Redis lock store, behind the load balancer (``make run-prod``'s layout)."""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from bot import conversations
from harness.production import balancer as production_balancer
from harness.production import (
    production_env,
    shared_endpoints,
    tracker_database,
    unavailable,
)
from harness.servers import Visitor, post, running_assistant
from tests.support.enquiries import erases, writes_and_sends_an_enquiry
from tests.support.messengers import telegram_update
from tests.support.metrics import get, samples, value

pytestmark = pytest.mark.e2e

WEBER_PHONE = "+49 (0)341 355 785 70"
API_TOKEN = uuid.uuid4().hex
OPS_TOKEN = uuid.uuid4().hex
TELEGRAM_SECRET = uuid.uuid4().hex
REST_TOKEN = uuid.uuid4().hex  # make run-prod makes one too: REST is for integrations


if unavailable():
    pytest.skip(
        f"the production tests need this machine kind's services: {unavailable()}",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def database():
    with tracker_database("test") as name:
        yield name


@pytest.fixture(scope="module")
def instances(tmp_path_factory, database, platforms):
    """Two Rasa servers on one PostgreSQL tracker store and one Redis lock store, with
    the messenger channels enabled against the platforms' stand-in."""
    env = {
        **production_env(database),
        **platforms.env(TELEGRAM_SECRET, "meta-app-secret"),
        "REST_TOKEN": REST_TOKEN,
    }
    with running_assistant(
        tmp_path_factory.mktemp("prod"),
        extra_env=env,
        endpoints_extra=shared_endpoints(),
        auth_token=API_TOKEN,
    ) as first:
        yield first, first.another_instance()


@pytest.fixture(scope="module")
def balancer(instances, tmp_path_factory):
    log = tmp_path_factory.mktemp("balancer") / "balancer.log"
    with production_balancer([instance.url for instance in instances], log, OPS_TOKEN) as url:
        yield url


def send(url: str, sender: str, text: str, token: str | None = REST_TOKEN) -> tuple[int, list]:
    authorization = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = post(
        f"{url}/webhooks/rest/webhook",
        json.dumps({"sender": sender, "message": text}).encode(),
        {"Content-Type": "application/json", **authorization},
    )
    return status, json.loads(body) if status == 200 else []


def say(url: str, sender: str, text: str) -> str:
    status, replies = send(url, sender, text)
    assert status == 200
    return " ".join(r.get("text", "") for r in replies)


def send_from(address: str, url: str, sender: str, text: str) -> tuple[int, list]:
    """:func:`send` from a source address of the caller's choosing: visitors come from
    addresses of their own (Linux loopback takes any 127.x)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=60, source_address=(address, 0)
    )
    try:
        connection.request(
            "POST",
            "/webhooks/rest/webhook",
            json.dumps({"sender": sender, "message": text}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {REST_TOKEN}"},
        )
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, json.loads(body) if answer.status == 200 else []
    finally:
        connection.close()


def user_texts(instance, sender: str, channel: str = "rest") -> list[str]:
    events = instance.tracker(sender, channel)["events"]
    return [e["text"] for e in events if e["event"] == "user"]


def test_a_conversation_alternating_between_two_instances_keeps_its_context(instances):
    first, second = instances
    sender = uuid.uuid4().hex
    assert "practical applications" in say(first.url, sender, "Tell me about the Leipzig hub")
    partners = say(second.url, sender, "who are its partners?")
    assert "Porsche" in partners and "Infineon" not in partners
    assert WEBER_PHONE in say(first.url, sender, "and who is the contact there?")
    expected = [
        "Tell me about the Leipzig hub",
        "who are its partners?",
        "and who is the contact there?",
    ]
    assert user_texts(first, sender) == user_texts(second, sender) == expected


def test_the_rest_channel_refuses_calls_without_the_rest_token(instances, balancer):
    first, _ = instances
    sender = uuid.uuid4().hex
    for url in (first.url, balancer):
        for token in (None, "guessed"):
            assert send(url, sender, "hello", token=token)[0] == 401
    assert user_texts(first, sender) == []


def test_after_erasure_the_postgresql_tracker_store_holds_nothing_of_the_visitor(
    instances, database
):
    first, second = instances
    visitor, neighbour = Visitor(first), Visitor(second)
    neighbour.says("who is the contact for Leipzig?")
    writes_and_sends_an_enquiry(visitor, "Greta Lindqvist", "greta@lindqvist.example")
    engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:5432/{database}")

    def rows(sender: str | None = None, text: str | None = None) -> int:
        events = sa.table("events", sa.column("sender_id"), sa.column("data"))
        query = sa.select(sa.func.count()).select_from(events)
        if sender:
            query = query.where(events.c.sender_id == conversations.conversation_id("rest", sender))
        if text:
            query = query.where(events.c.data.like(f"%{text}%"))
        with engine.connect() as connection:
            return connection.execute(query).scalar_one()

    try:
        assert rows(text="greta@lindqvist.example") > 0
        erases(visitor)
        assert rows(text="greta@lindqvist.example") == rows(text="Lindqvist") == 0
        assert rows(sender=visitor.sender) == 0 and rows(sender=neighbour.sender) > 0
    finally:
        engine.dispose()
    for instance in instances:  # Rasa's HTTP API, on either server
        assert "lindqvist" not in json.dumps(instance.tracker(visitor.sender)).lower()
    assert visitor.enquiries() == []


def test_a_telegram_update_redelivered_to_the_other_instance_is_answered_once(instances, platforms):
    chat_id = uuid.uuid4().int % 10**9
    update = telegram_update(chat_id, chat_id, "what is spinlab?")
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    answers = []
    for instance in instances:  # Telegram resends what it thinks went unanswered
        assert post(f"{instance.url}/webhooks/telegram/webhook", update, headers)[0] == 200
        answers.append(platforms.telegram_texts(chat_id))  # sent before the webhook answers
    assert answers[0] and answers[1] == answers[0]
    assert user_texts(instances[1], str(chat_id), "telegram") == ["what is spinlab?"]


def test_two_hundred_conversations_through_the_balancer_lose_and_reorder_nothing(
    instances, balancer
):
    script = ["hello", "what is spinlab?", "Who is the contact for Leipzig?", "thanks", "bye"]
    senders = [f"load-{uuid.uuid4().hex}" for _ in range(200)]

    def converse(number: int) -> None:  # 200 visitors, as many addresses as a flood has one
        for text in script:
            status, replies = send_from(f"127.0.1.{number + 1}", balancer, senders[number], text)
            assert status == 200 and replies

    with ThreadPoolExecutor(max_workers=200) as pool:
        list(pool.map(converse, range(len(senders))))
    first, _ = instances
    for sender in senders:
        assert user_texts(first, sender) == script


def test_a_killed_instance_leaves_the_other_serving_the_same_conversations(instances, balancer):
    first, second = instances
    sender = uuid.uuid4().hex
    assert "practical applications" in say(balancer, sender, "Tell me about the Leipzig hub")
    os.killpg(second.rasa.pid, signal.SIGKILL)  # no goodbye; the balancer notices on connect
    second.rasa.wait()
    for _ in range(3):
        partners = say(balancer, sender, "who are its partners?")
        assert "Porsche" in partners
    assert user_texts(first, sender)[0] == "Tell me about the Leipzig hub"


def test_rasas_http_api_refuses_without_the_token(instances, balancer):
    first, _ = instances
    sender = uuid.uuid4().hex
    say(balancer, sender, "hello")
    for url in (first.url, balancer):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/conversations/{sender}/tracker", timeout=10)
        assert refused.value.code == 401
    assert user_texts(first, sender) == ["hello"]  # with the token it answers


def test_a_burst_from_one_sender_is_limited_while_others_are_served(balancer):
    noisy, calm = f"noisy-{uuid.uuid4().hex}", f"calm-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=30) as pool:
        burst = list(pool.map(lambda _: send(balancer, noisy, "hello")[0], range(30)))
    assert burst.count(429) >= 15 and burst.count(200) >= 10 and set(burst) == {200, 429}
    assert [send(balancer, calm, text)[0] for text in ("hello", "what is spinlab?")] == [200, 200]


def test_rotating_sender_ids_from_one_address_are_limited_while_another_address_is_served(
    instances, balancer
):
    """Production's limits: a burst of 60 a client address at the balancer, and the Rasa
    servers behind it count the same address, from the balancer's X-Forwarded-For."""
    senders = [f"rotating-{uuid.uuid4().hex}" for _ in range(100)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        flood = list(
            pool.map(lambda sender: send_from("127.0.2.1", balancer, sender, "hello")[0], senders)
        )
    refilled = math.ceil((time.monotonic() - started) * 240 / 60)  # 240 a minute come back
    assert set(flood) == {200, 429} and 50 <= flood.count(200) <= 60 + refilled  # the burst
    calm = [send_from("127.0.2.2", balancer, f"calm-{uuid.uuid4().hex}", "hello")[0]]
    assert calm == [200]
    first, _ = instances
    refused = [s for s, status in zip(senders, flood, strict=True) if status == 429]
    assert all(user_texts(first, sender) == [] for sender in refused[:10])


def test_an_oversized_body_is_refused_by_the_balancer(balancer):
    status, _ = send(balancer, "big", "x" * 70_000)
    assert status == 413


def test_the_balancer_is_ready_and_counts_requests_for_operators(balancer):
    assert get(f"{balancer}/balancer/readyz")[0] == 200
    assert get(f"{balancer}/balancer/metrics")[0] == 401
    before = samples(f"{balancer}/balancer/metrics", OPS_TOKEN)
    sender = uuid.uuid4().hex
    for text in ("hello", "what is spinlab?", "thanks"):
        assert send(balancer, sender, text)[0] == 200
    after = samples(f"{balancer}/balancer/metrics", OPS_TOKEN)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hub_balancer_requests_total", route="rest", status="200") == 3
    assert grew("hub_balancer_upstream_seconds_count", route="rest") == 3
