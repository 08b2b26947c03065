"""The widget through the front door (the real nginx) before two Rasa servers, as
``make run-prod`` runs them on the real PostgreSQL and Redis: a real browser keeps its
conversation when the server holding its socket is killed, and long-polling clients
stay each on one server."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

import aiohttp
import pytest

from harness.production import tracker_database, two_servers_behind_the_door, unavailable
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, ask, open_widget
from tests.support.metrics import samples, value
from tests.support.widget import Widget

pytestmark = pytest.mark.e2e

OPS_TOKEN = uuid.uuid4().hex

if unavailable():
    pytest.skip(f"the front door needs: {unavailable()}", allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not installed (make test installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    with (
        tracker_database("door") as database,
        two_servers_behind_the_door(
            tmp_path_factory.mktemp("door"), database, {"OPS_TOKEN": OPS_TOKEN}
        ) as running,
    ):
        yield running


def widget_messages(server) -> float:
    metrics = samples(f"{server.url}/webhooks/ops/metrics", OPS_TOKEN)
    return value(metrics, "hub_messages_total", channel="socketio")


async def polling_conversation(door: str, affinity: str) -> str:
    """A widget restricted to long-polling: every request of its session must reach the
    server that opened it, or engine.io answers 400 ("Session ID unknown")."""
    async with aiohttp.ClientSession() as session:
        widget = Widget(f"{door}?affinity={affinity}", session)
        await widget.connect()
        try:
            questions = ("hello", "what is spinlab?", "who is the contact there?")
            return " ".join([await widget.says(question) for question in questions])
        finally:
            await widget.close()


def test_long_polling_widgets_stay_on_their_server_through_the_door(layout):
    async def many():
        return await asyncio.gather(
            *(polling_conversation(layout.door, uuid.uuid4().hex) for _ in range(12))
        )

    before = [widget_messages(server) for server in layout.servers]
    conversations = asyncio.run(many())
    assert all("accelerator" in c and "Dr Eric Weber" in c for c in conversations)
    grown = [widget_messages(s) - b for s, b in zip(layout.servers, before, strict=True)]
    assert sum(grown) == 36 and all(grown)  # both servers served some, none lost a session


def test_the_widget_keeps_its_conversation_when_its_server_is_killed(layout):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(layout.door + "/")
        before = [widget_messages(server) for server in layout.servers]
        open_widget(page)
        ask(page, "Tell me about the Leipzig hub", "practical applications")
        grown = [widget_messages(s) - b for s, b in zip(layout.servers, before, strict=True)]
        serving = layout.servers[grown.index(1)]  # the server the widget's socket is on
        os.killpg(serving.rasa.pid, signal.SIGKILL)
        serving.rasa.wait()
        ask(page, "who are its partners?", "Porsche")  # the same conversation, elsewhere
        assert page.locator(".msg.user").filter(has_text="Tell me about the Leipzig hub").count()
        browser.close()
