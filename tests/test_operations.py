"""What operators see of a running assistant: health and readiness of every process,
Prometheus metrics behind the operator token, JSON log lines naming the conversation
and holding no secret, and every event on RabbitMQ (when it runs here)."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest

from harness.servers import Visitor, free_port, post, reachable, running_assistant
from tests.support.messengers import telegram_update, wait_until
from tests.support.metrics import get, samples, total, value
from tests.support.responses import says
from tests.support.widget import Widget

pytestmark = pytest.mark.e2e

OPS_TOKEN = f"ops-{uuid.uuid4().hex}"
TELEGRAM_TOKEN = f"123456:{uuid.uuid4().hex}"
TELEGRAM_SECRET = f"hook-{uuid.uuid4().hex}"
RABBITMQ = ("127.0.0.1", 5672)
BROKER_URL = f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/"
QUEUE = f"hub-events-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def dispatcher_port():
    return free_port()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, smtp, dispatcher_port):
    """The assistant as production runs it, on the embedded database: JSON logs,
    operator token, dispatcher health port, events to RabbitMQ when it is there, and a
    Telegram bot whose API is unreachable (its token ends up in error messages)."""
    env = {
        **smtp.env,
        "LOG_FORMAT": "json",
        "RATE_LIMIT_BURST": "10",  # production's limits (the test harness raises them)
        "RATE_LIMIT_PER_MINUTE": "30",
        "OPS_TOKEN": OPS_TOKEN,
        "DISPATCHER_PORT": str(dispatcher_port),
        "TELEGRAM_ACCESS_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    if reachable(*RABBITMQ):
        env |= {
            "EVENT_BROKER_URL": BROKER_URL,
            "EVENT_BROKER_QUEUE": QUEUE,
        }
    with running_assistant(
        tmp_path_factory.mktemp("operations"),
        extra_env=env,
        with_dispatcher=True,
        actions_in_process=False,  # every process of ACTION_SERVER=on, logs and health
        endpoints_extra="event_broker:\n  type: nlu.server.broker.MeteredEventBroker\n",
    ) as running:
        yield running
    if "EVENT_BROKER_URL" in env:
        asyncio.run(delete_queue())


async def delete_queue() -> None:
    import aio_pika

    async with await aio_pika.connect(BROKER_URL) as connection:
        await (await connection.channel()).queue_delete(QUEUE)


def rasa_metrics(assistant) -> dict:
    return samples(f"{assistant.url}/webhooks/ops/metrics", OPS_TOKEN)


def test_every_process_says_it_is_alive_and_ready(assistant, dispatcher_port):
    dispatcher = f"http://127.0.0.1:{dispatcher_port}"
    for url in (
        f"{assistant.url}/webhooks/ops/healthz",
        f"{assistant.url}/webhooks/ops/readyz",
        f"{assistant.action_url}/health",
        f"{dispatcher}/healthz",
    ):
        assert get(url)[0] == 200, url
    assert wait_until(lambda: get(f"{dispatcher}/readyz")[0] == 200), get(f"{dispatcher}/readyz")
    assert json.loads(get(f"{assistant.url}/webhooks/ops/readyz")[1]) == {"status": "ready"}


@pytest.mark.parametrize("where", ["rasa", "dispatcher"])
def test_metrics_are_for_operators_only(assistant, dispatcher_port, where):
    url = {
        "rasa": f"{assistant.url}/webhooks/ops/metrics",
        "dispatcher": f"http://127.0.0.1:{dispatcher_port}/metrics",
    }[where]
    assert get(url)[0] == 401
    assert get(url, "not-the-token")[0] == 403
    status, text = get(url, OPS_TOKEN)
    assert status == 200 and "# TYPE" in text


def test_metrics_count_messages_intents_fallbacks_and_answer_times(assistant):
    before = rasa_metrics(assistant)
    visitor = Visitor(assistant)
    assert "Lindner" in visitor.says("Who is the contact for Dresden?")
    visitor.says("xqzt vrumpf glibber")
    after = rasa_metrics(assistant)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hub_messages_total", channel="rest") == 2
    assert grew("hub_answer_seconds_count", channel="rest") == 2
    assert grew("hub_answer_seconds_sum", channel="rest") > 0
    assert total(after, "hub_intents_total") - total(before, "hub_intents_total") == 2
    assert grew("hub_fallbacks_total", kind="nlu") == 1


def test_handoffs_are_counted_by_status(assistant, smtp, dispatcher_port):
    visitor = Visitor(assistant)
    assert "May I pass your name" in visitor.writes_enquiry_up_to_consent()
    visitor.says("/affirm")
    assert "Dr Eric Weber" in visitor.says("/affirm")
    url = f"http://127.0.0.1:{dispatcher_port}/metrics"

    def sent():
        metrics = samples(url, OPS_TOKEN)
        return value(metrics, "hub_handoff_mails", kind="contact", status="sent") >= 1

    assert wait_until(sent), samples(url, OPS_TOKEN)
    metrics = samples(url, OPS_TOKEN)
    assert value(metrics, "hub_handoff_deliveries_total", kind="contact", result="sent") >= 1
    assert value(metrics, "hub_handoff_mails", kind="contact", status="failed") == 0


def test_a_fast_rest_sender_gets_429_unread_while_others_are_served(assistant):
    """The REST channel answers a conversation over its limit with 429 and Retry-After
    (the widget and the messengers are asked to slow down in their language instead:
    tests/test_client_limits.py)."""
    fast, calm = Visitor(assistant), Visitor(assistant)
    assert "Lindner" in fast.says("Wer ist der Ansprechpartner für Dresden?")
    body = json.dumps({"sender": fast.sender, "message": "und für Leipzig?"}).encode()
    url = f"{assistant.url}/webhooks/rest/webhook"
    answers = [post(url, body, {"Content-Type": "application/json"}) for _ in range(14)]
    statuses = [status for status, _ in answers]
    assert statuses[0] == 200 and statuses.count(429) >= 3 and set(statuses) == {200, 429}
    assert "too many messages in this conversation" in answers[-1][1]
    assert "Lindner" in calm.says("Who is the contact for Dresden?")
    read = [e for e in assistant.tracker(fast.sender)["events"] if e["event"] == "user"]
    assert len(read) == 1 + statuses.count(200)
    metrics = rasa_metrics(assistant)
    assert value(metrics, "hub_rate_limited_messages_total", channel="rest") >= statuses.count(429)


def test_a_fast_widget_sender_is_asked_to_slow_down_in_their_language(assistant):
    async def chat() -> list[str]:
        async with aiohttp.ClientSession() as session:
            widget = Widget(assistant.url, session)
            await widget.connect()
            try:
                assert "Lindner" in await widget.says("Wer ist der Ansprechpartner für Dresden?")
                return [await widget.says("und für Leipzig?") for _ in range(12)]
            finally:
                await widget.close()

    replies = asyncio.run(chat())
    slowed = [reply for reply in replies if says(reply, "utter_slow_down", "de")]
    assert slowed and replies[0] not in slowed and "Weber" in replies[0]  # 0.5 a second back


def test_every_event_reaches_rabbitmq_in_order(assistant):
    if not reachable(*RABBITMQ):
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    visitor = Visitor(assistant)
    visitor.says("What is SpinLab?")
    visitor.says("and who is the contact there?")
    texts = asyncio.run(user_texts_on_the_queue(visitor.sender, expected=2))
    assert texts == ["What is SpinLab?", "and who is the contact there?"]


async def user_texts_on_the_queue(sender: str, expected: int, timeout: float = 20) -> list[str]:
    import aio_pika

    texts: list[str] = []
    async with await aio_pika.connect(BROKER_URL) as connection:
        queue = await (await connection.channel()).get_queue(QUEUE)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(texts) < expected and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            event = json.loads(message.body)
            if event.get("sender_id") == f"rest:{sender}" and event["event"] == "user":
                texts.append(event["text"])
    return texts


def log_lines(assistant, name: str) -> list[dict]:
    lines = (assistant.workdir / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_log_lines_are_json_and_name_the_conversation(assistant):
    visitor = Visitor(assistant)
    status, _ = post(
        f"{assistant.url}/webhooks/telegram/webhook",
        telegram_update(77, 4242, "hello"),
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert status == 200
    visitor.says("Who is the contact for Leipzig?")

    def telegram_lines():
        lines = log_lines(assistant, "rasa.log")
        return [line for line in lines if line.get("conversation_id") == "telegram:4242"]

    assert wait_until(telegram_lines), "no Rasa log line names the Telegram conversation"
    rasa = telegram_lines()
    assert any(line["level"] in ("WARNING", "ERROR") for line in rasa)  # its API is unreachable
    for name in ("rasa.log", "actions.log", "dispatcher.log"):
        lines = log_lines(assistant, name)
        assert lines, f"{name} has no JSON lines"
        assert all({"time", "level", "service", "logger", "message"} <= set(line) for line in lines)


def test_no_secret_reaches_any_log(assistant):
    texts = {
        path.name: path.read_text(encoding="utf-8") for path in assistant.workdir.glob("*.log")
    }
    assert {"rasa.log", "actions.log", "dispatcher.log"} <= set(texts)
    for name, text in texts.items():
        for secret in (TELEGRAM_TOKEN, TELEGRAM_SECRET, OPS_TOKEN, "guest:guest@"):
            assert secret not in text, f"{name} shows a secret"
