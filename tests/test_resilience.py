"""A request to the action server that could not be delivered is sent again."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from nlu import resilience
from tests.support.servers import free_port

resilience.install()


async def _serve_later(port: int, delay: float) -> web.AppRunner:
    await asyncio.sleep(delay)
    app = web.Application()
    app.router.add_post("/webhook", lambda _: web.json_response({"events": []}))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_a_refused_connection_is_retried_until_the_server_listens():
    async def scenario():
        port = free_port()
        starting = asyncio.create_task(_serve_later(port, 0.06))
        answer = await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(json={})
        await (await starting).cleanup()
        return answer

    assert asyncio.run(scenario()) == {"events": []}


def test_a_server_that_never_listens_still_fails_after_the_retries():
    endpoint = EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")
    with pytest.raises(aiohttp.ClientOSError):
        asyncio.run(endpoint.request(json={}))
