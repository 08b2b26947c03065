"""Several Rasa servers sharing conversations through the real PostgreSQL tracker
store and Redis lock store, behind the load balancer (``make run-prod``'s layout)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.servers import _stop, _wait_http, free_port, post, reachable, running_assistant

pytestmark = pytest.mark.e2e

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
WEBER_PHONE = "+49 (0)341 355 785 70"
API_TOKEN = uuid.uuid4().hex


if not (reachable(*PG) and reachable(*REDIS)):
    pytest.skip(
        "PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are needed for the "
        "production tests (this machine kind runs both; here they are not reachable)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def database():
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(
        ["psql", "-h", PG[0], "-U", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"'],
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="module")
def instances(tmp_path_factory, database):
    """Two Rasa servers on one PostgreSQL tracker store and one Redis lock store."""
    endpoints = (PROJECT_ROOT / "endpoints.prod.yml").read_text(encoding="utf-8")
    shared = endpoints[endpoints.index("tracker_store:") :]
    env = {
        "TRACKER_DB_HOST": PG[0],
        "TRACKER_DB_PORT": str(PG[1]),
        "TRACKER_DB_NAME": database,
        "TRACKER_DB_USER": "postgres",
        "TRACKER_DB_PASSWORD": "",
        "TRACKER_DB_LOGIN_DB": "postgres",
        "REDIS_HOST": REDIS[0],
        "REDIS_PORT": str(REDIS[1]),
        "REDIS_DB": "1",
        "REDIS_KEY_PREFIX": database,
    }
    with running_assistant(
        tmp_path_factory.mktemp("prod"),
        extra_env=env,
        endpoints_extra=shared,
        auth_token=API_TOKEN,
    ) as first:
        yield first, first.another_instance()


@pytest.fixture(scope="module")
def balancer(instances, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("balancer") / "balancer.log"
    backends = [instance.url for instance in instances]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.balancer", "--port", str(port), *backends],
        cwd=PROJECT_ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/balancer/healthz", process, 60, log)
    yield url
    _stop(process)


def send(url: str, sender: str, text: str) -> tuple[int, list]:
    status, body = post(
        f"{url}/webhooks/rest/webhook",
        json.dumps({"sender": sender, "message": text}).encode(),
        {"Content-Type": "application/json"},
    )
    return status, json.loads(body) if status == 200 else []


def say(url: str, sender: str, text: str) -> str:
    status, replies = send(url, sender, text)
    assert status == 200
    return " ".join(r.get("text", "") for r in replies)


def user_texts(instance, sender: str) -> list[str]:
    return [e["text"] for e in instance.tracker(sender)["events"] if e["event"] == "user"]


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


def test_two_hundred_conversations_through_the_balancer_lose_and_reorder_nothing(
    instances, balancer
):
    script = ["hello", "what is spinlab?", "Who is the contact for Leipzig?", "thanks", "bye"]
    senders = [f"load-{uuid.uuid4().hex}" for _ in range(200)]

    def converse(sender: str) -> None:
        for text in script:
            assert say(balancer, sender, text)

    with ThreadPoolExecutor(max_workers=200) as pool:
        list(pool.map(converse, senders))
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


def test_an_oversized_body_is_refused_by_the_balancer(balancer):
    status, _ = send(balancer, "big", "x" * 70_000)
    assert status == 413
