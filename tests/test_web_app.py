"""The web app: demo page under a strict CSP, the widget asset, health endpoints."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import create_app
from harness.servers import free_port


def with_client(check, rasa_url: str = "http://127.0.0.1:9"):
    async def run():
        async with TestClient(TestServer(create_app(rasa_url))) as client:
            return await check(client)

    return asyncio.run(run())


def test_the_demo_page_embeds_the_widget_under_a_strict_csp():
    async def check(client):
        response = await client.get("/?lang=de")
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
        nonce = policy.split("script-src 'nonce-")[1].split("'")[0]
        assert f"style-src 'nonce-{nonce}'" in policy and "unsafe" not in policy
        assert page.count(f'nonce="{nonce}"') == 2  # the stylesheet and the widget
        assert "<h1>Smart Systems und Smart Infrastructure</h1>" in page
        assert "connect-src 'self' http://127.0.0.1:9 ws://127.0.0.1:9" in policy
        assert '<html lang="de">' in page and 'data-server="http://127.0.0.1:9"' in page
        assert "<script>" not in page and "style=" not in page  # nothing inline

    with_client(check)


def test_the_widget_asset_is_versioned_cacheable_and_gzipped():
    async def check(client):
        version = client.server.app["widget_version"]
        versioned = await client.get(f"/widget/{version}/hub-widget.js")
        assert "immutable" in versioned.headers["Cache-Control"]
        assert versioned.headers["Content-Encoding"] == "gzip"
        assert b"hubWidget" in await versioned.read()  # client decompresses
        stable = await client.get("/widget/hub-widget.js", headers={"Accept-Encoding": "identity"})
        assert (
            stable.headers["Cache-Control"] == "no-cache"
            and "Content-Encoding" not in stable.headers
        )
        again = await client.get(
            "/widget/hub-widget.js", headers={"If-None-Match": stable.headers["ETag"]}
        )
        assert again.status == 304
        css = await client.get(f"/widget/{version}/hub-widget.css")
        assert css.headers["Content-Type"].startswith("text/css")
        assets = client.server.app["widget_assets"]
        assert len(assets["hub-widget.js"].gzipped) < len(assets["hub-widget.js"].body) / 2

    with_client(check)


def test_health_and_readiness_say_what_is_missing():
    async def check(client):
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 503 and body["rasa"].startswith("unreachable")

    with_client(check, rasa_url=f"http://127.0.0.1:{free_port()}")
