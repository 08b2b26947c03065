"""The balancer's guard of the REST channel, in process, in front of a stand-in Rasa
server: limits per client address whatever the sender ids, the path's spelling or the
body; the client address passed on in X-Forwarded-For, a forged one dropped; metric
labels from fixed sets however many paths are invented."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from prometheus_client import generate_latest

from bot.balancer import Balancer, route_of
from bot.ratelimit import ClientLimits, SenderLimits
from harness.servers import free_port
from tests.support.metrics import label_values, parse

ROUTES = {"rest", "telegram", "facebook", "socketio", "ops", "api", "other"}


@dataclass
class Backend:
    """Answers every request with 200 and remembers what reached it."""

    seen: list[tuple[str, str | None]] = field(default_factory=list)  # path, X-Forwarded-For

    async def answer(self, request: web.Request) -> web.Response:
        await request.read()
        self.seen.append((request.path, request.headers.get("X-Forwarded-For")))
        return web.json_response([])


@asynccontextmanager
async def serving(app: web.Application):
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def balancer(client_burst: int = 1000, sender_burst: int = 1000):
    backend = Backend()
    stand_in = web.Application()
    stand_in.router.add_route("*", "/{tail:.*}", backend.answer)
    limits = SenderLimits(burst=sender_burst, per_minute=1)
    client_limits = ClientLimits(burst=client_burst, per_minute=1)
    async with serving(stand_in) as rasa:
        front = Balancer([rasa], limits=limits, client_limits=client_limits)
        async with serving(front.app()) as url:
            yield url, backend


@asynccontextmanager
async def client_from(address: str):
    """An HTTP client whose requests come from ``address`` (Linux loopback takes any 127.x)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def post(session, url: str, body: bytes, path: str = "/webhooks/rest/webhook", **headers):
    async with session.post(f"{url}{path}", data=body, headers=headers) as answer:
        await answer.read()
        return answer.status, answer.headers.get("Retry-After")


def message(sender: str, text: str = "hello") -> bytes:
    return json.dumps({"sender": sender, "message": text}).encode()


def test_rotating_sender_ids_from_one_address_is_limited_while_another_is_served():
    async def scenario():
        async with balancer(client_burst=5) as (url, backend), client_from("127.0.0.2") as noisy:
            answers = [await post(noisy, url, message(uuid.uuid4().hex)) for _ in range(12)]
            assert [status for status, _ in answers] == [200] * 5 + [429] * 7
            assert all(int(wait) >= 1 for status, wait in answers if status == 429)
            async with client_from("127.0.0.1") as calm:
                assert (await post(calm, url, message("calm")))[0] == 200
            forwarded = [xff for _, xff in backend.seen]
            assert forwarded == ["127.0.0.2"] * 5 + ["127.0.0.1"]

    asyncio.run(scenario())


def test_a_forged_x_forwarded_for_from_an_untrusted_address_is_dropped_and_changes_nothing():
    async def scenario():
        async with balancer(client_burst=3) as (url, backend), client_from("127.0.0.2") as forger:
            statuses = [
                (await post(forger, url, message(f"s{n}"), **{"X-Forwarded-For": f"10.0.0.{n}"}))[0]
                for n in range(6)
            ]
            assert statuses == [200] * 3 + [429] * 3
            assert [xff for _, xff in backend.seen] == ["127.0.0.2"] * 3

    asyncio.run(scenario())


def test_a_trusted_proxys_client_is_believed_and_passed_on():
    async def scenario():
        async with balancer(client_burst=2) as (url, backend), client_from("127.0.0.1") as proxy:
            via = {"X-Forwarded-For": "203.0.113.7"}  # as nginx on this machine would say
            statuses = [(await post(proxy, url, message(f"s{n}"), **via))[0] for n in range(3)]
            other = {"X-Forwarded-For": "198.51.100.2"}
            statuses.append((await post(proxy, url, message("x"), **other))[0])
            assert statuses == [200, 200, 429, 200]
            assert backend.seen[0][1] == "203.0.113.7, 127.0.0.1"

    asyncio.run(scenario())


def test_every_forwarded_message_is_counted_whatever_its_body_or_path():
    async def scenario():
        async with balancer(client_burst=6) as (url, _), client_from("127.0.0.2") as client:
            bodies_and_paths = [
                (b'{"sender": "tab", "message": "a\tb"}', "/webhooks/rest/webhook"),  # raw TAB
                (b"not JSON at all", "/webhooks/rest/webhook"),
                (b"[" * 20_000, "/webhooks/rest/webhook"),  # too deep for the parser
                (b'["a list"]', "/webhooks/rest/webhook"),
                (message("slash"), "/webhooks/rest/webhook/"),  # Sanic answers this too
                (message("dot"), "/webhooks/rest/./webhook"),
                (message("late"), "/webhooks/rest/webhook"),  # the seventh: over the burst
            ]
            statuses = [(await post(client, url, body, path))[0] for body, path in bodies_and_paths]
            assert statuses == [200] * 6 + [429]

    asyncio.run(scenario())


def test_a_sender_is_counted_when_its_body_has_a_raw_tab_as_rasa_reads_it():
    async def scenario():
        async with balancer(sender_burst=2) as (url, _), client_from("127.0.0.2") as client:
            body = b'{"sender": "tabby", "message": "one\ttwo"}'
            statuses = [(await post(client, url, body))[0] for _ in range(3)]
            assert statuses == [200, 200, 429]
            assert (await post(client, url, message("another")))[0] == 200

    asyncio.run(scenario())


def test_messenger_webhooks_are_not_limited_per_address():
    async def scenario():
        async with balancer(client_burst=1) as (url, _), client_from("127.0.0.2") as platform:
            for _ in range(5):
                update = message("x")
                assert (await post(platform, url, update, "/webhooks/telegram/webhook"))[0] == 200

    asyncio.run(scenario())


def test_invented_paths_leave_the_route_labels_a_fixed_set():
    async def scenario():
        async with balancer() as (url, _), client_from("127.0.0.2") as client:
            for n in range(300):
                path = f"/webhooks/{uuid.uuid4().hex}" if n % 2 else f"/{uuid.uuid4().hex}/x"
                async with client.get(f"{url}{path}") as answer:
                    await answer.read()

    asyncio.run(scenario())
    metrics = parse(generate_latest().decode())
    for name in ("hub_balancer_requests_total", "hub_balancer_upstream_seconds_count"):
        assert label_values(metrics, name, "route") <= ROUTES
    assert "other" in label_values(metrics, "hub_balancer_requests_total", "route")


def test_route_labels_name_the_templates():
    assert route_of("/webhooks/rest/webhook") == route_of("/webhooks/rest/webhook/") == "rest"
    assert route_of("/webhooks/telegram/webhook") == "telegram"
    assert route_of("/webhooks/ops/metrics") == "ops"
    assert route_of("/conversations/rest:abc/tracker") == route_of("/model/parse") == "api"
    assert route_of("/socket.io/") == "socketio"
    assert route_of("/webhooks/invented/webhook") == route_of("/wp-login.php") == "other"


def test_a_message_a_server_took_and_dropped_is_not_sent_to_another_but_a_refused_one_is():
    """A second server answering a message the first one may have answered already would
    show the visitor two answers; a server that refused the connection never saw it."""

    async def drops(request: web.Request) -> web.Response:
        await request.read()
        request.transport.close()  # as a server killed while it works on the message
        return web.json_response([])

    async def scenario():
        counted, dropping = Backend(), web.Application()
        dropping.router.add_route("*", "/{tail:.*}", drops)
        answering = web.Application()
        answering.router.add_route("*", "/{tail:.*}", counted.answer)
        refused = f"http://127.0.0.1:{free_port()}"
        async with serving(dropping) as broken, serving(answering) as rasa:
            front = Balancer([broken, rasa])
            async with serving(front.app()) as url, client_from("127.0.0.2") as visitor:
                assert (await post(visitor, url, message("v")))[0] == 502
                assert counted.seen == []
            front = Balancer([refused, rasa])
            async with serving(front.app()) as url, client_from("127.0.0.2") as visitor:
                assert (await post(visitor, url, message("v")))[0] == 200
                assert len(counted.seen) == 1

    asyncio.run(scenario())
