"""Nobody reads or drives another person's conversation, and "delete my data" deletes
it: against the real action server and Rasa server, as an attacker would try."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import uuid

import pytest
import socketio

from bot import conversations, db
from bot.enquiries import store as enquiry_store
from harness.servers import Visitor, post, running_assistant
from tests.support.enquiries import erases, writes_and_sends_an_enquiry

pytestmark = pytest.mark.e2e


def stored(assistant) -> list:
    return enquiry_store.enquiries(db.session_factory(assistant.database))


# --- the action server ------------------------------------------------------------------


def made_up_call(email: str) -> dict:
    """``action_submit_enquiry`` as an attacker would post it: slots of their choosing."""
    slots = {
        "consent": True,
        "enquiry_confirmed": True,
        "hub": "dresden",
        "visitor_name": "Mallory",
        "visitor_email": email,
        "enquiry_text": "Spam for an address of the attacker's choosing.",
    }
    tracker = {"sender_id": "rest:mallory", "slots": slots, "events": [], "latest_message": {}}
    return {"next_action": "action_submit_enquiry", "sender_id": "rest:mallory",
            "tracker": tracker, "domain": {}, "version": "3.6.21"}  # fmt: skip


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    """The layout with ACTION_SERVER=on: the Rasa server calls an action server."""
    workdir = tmp_path_factory.mktemp("action-server")
    with running_assistant(workdir, actions_in_process=False) as running:
        yield running


def test_the_action_server_refuses_calls_without_the_rasa_servers_token(action_server):
    assistant = action_server
    email = f"target-{uuid.uuid4().hex[:8]}@elsewhere.example"
    body = json.dumps(made_up_call(email)).encode()
    for credential in ({}, {"Authorization": "Bearer guessed"}, {"Authorization": "guessed"}):
        headers = {"Content-Type": "application/json", **credential}
        status, answer = post(f"{assistant.action_url}/webhook", body, headers)
        assert status == 401 and email not in answer
    assert not [e for e in stored(assistant) if e.visitor_email == email]
    token = {"Authorization": f"Bearer {assistant.env['ACTION_SERVER_TOKEN']}"}
    status, _ = post(f"{assistant.action_url}/webhook", body, {**headers, **token})
    assert status == 200  # the same call with the Rasa servers' token runs: it is the token


def non_loopback_address() -> str | None:
    lines = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in lines.splitlines() if " inet " in line]
    return next((a for a in addresses if not a.startswith("127.")), None)


def test_the_action_server_listens_on_loopback_only(action_server):
    assistant = action_server
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    port = int(assistant.action_url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=3).close()
    socket.create_connection(("127.0.0.1", port), timeout=3).close()


# --- channels -----------------------------------------------------------------------------


def test_an_enquirys_channel_is_the_one_it_came_through_not_the_one_claimed(assistant):
    visitor = Visitor(assistant)
    claimed = {"input_channel": "telegram"}

    def says(text: str) -> str:
        body = json.dumps({"sender": visitor.sender, "message": text, **claimed}).encode()
        status, answer = post(
            f"{assistant.url}/webhooks/rest/webhook", body, assistant.rest_headers()
        )
        assert status == 200
        return " ".join(r.get("text", "") for r in json.loads(answer))

    visitor.says = says
    writes_and_sends_an_enquiry(visitor, "Olga Brandt", "olga@brandt.example")
    assert [e.channel for e in visitor.enquiries()] == ["rest"]
    users = [e for e in assistant.tracker(visitor.sender)["events"] if e["event"] == "user"]
    assert {e["input_channel"] for e in users} == {"rest"}  # what metrics count by


class WidgetSocket:
    """The widget's side of the socket.io channel, as hub-widget.js speaks it."""

    def __init__(self, url: str):
        self.url, self.client, self.answers = url, socketio.AsyncClient(), []
        self.session: str | None = None
        self.client.on("bot_uttered", lambda message: self.answers.append(message.get("text")))

    async def connect(self, resume: str | None = None) -> str:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", confirmed.set_result)
        await self.client.connect(self.url, transports=["polling"])  # aiohttp 3.9: no ws client
        await self.client.emit("session_request", {"session_id": resume})
        self.session = await asyncio.wait_for(confirmed, 10)
        return self.session

    async def says(self, text: str, **extra) -> list[str]:
        before = len(self.answers)
        await self.client.emit("user_uttered", {"message": text, **extra})
        for _ in range(100):
            await asyncio.sleep(0.1)
            if len(self.answers) > before:
                await asyncio.sleep(0.3)  # the rest of the answer's parts
                break
        return self.answers[before:]

    async def close(self) -> None:
        """Closes without waiting out the long poll (30 s), as a closed tab does."""
        await self.client.eio.disconnect(abort=True)


def test_a_widget_cannot_join_or_speak_in_another_visitors_session(assistant):
    async def attack() -> None:
        victim, attacker = WidgetSocket(assistant.url), WidgetSocket(assistant.url)
        session = await victim.connect()
        assert conversations.is_issued_session(session, assistant.env["SESSION_SECRET"])
        assert await victim.says("My name is Greta Lindqvist, I need office space")
        raw, signature = session.split(".")
        for guess in (raw, f"{raw}.{'0' * len(signature)}", "1234567", f"telegram:{raw}"):
            guesser = WidgetSocket(assistant.url)
            assert await guesser.connect(guess) != session
            await guesser.close()
        await attacker.connect()
        heard = len(victim.answers)
        assert await attacker.says("who is the contact for Leipzig?", session_id=session)
        await asyncio.sleep(1)
        assert len(victim.answers) == heard  # the answer went to the attacker's own session
        await victim.close()
        reloaded = WidgetSocket(assistant.url)
        assert await reloaded.connect(session) == session  # a reload resumes the session
        await asyncio.gather(reloaded.close(), attacker.close())
        events = assistant.tracker(session, "socketio")["events"]
        texts = [e["text"] for e in events if e["event"] == "user"]
        assert texts == ["My name is Greta Lindqvist, I need office space"]

    asyncio.run(attack())


# --- erasure --------------------------------------------------------------------------------


def test_erasure_leaves_nothing_in_the_conversation_rasa_shows(assistant):
    visitor, neighbour = Visitor(assistant), Visitor(assistant)
    neighbour.says("who is the contact for Leipzig?")
    writes_and_sends_an_enquiry(visitor, "Greta Lindqvist", "greta@lindqvist.example")
    erases(visitor)
    shown = json.dumps(assistant.tracker(visitor.sender))
    assert "lindqvist" not in shown.lower()
    assert [e["event"] for e in assistant.tracker(neighbour.sender)["events"]].count("user") == 1
    assert "reference" not in visitor.says("/affirm")  # nothing left to confirm


@pytest.fixture(scope="module")
def sqlite_tracker(tmp_path_factory, smtp):
    workdir = tmp_path_factory.mktemp("sqlite-tracker")
    tracker_db = workdir / "tracker.db"
    endpoints = (
        "tracker_store:\n  type: nlu.server.tracker_store.RestartSafeSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {tracker_db}\n"
    )
    with running_assistant(workdir, extra_env=smtp.env, endpoints_extra=endpoints) as running:
        yield running, tracker_db


def test_after_erasure_the_sqlite_tracker_store_holds_nothing_of_the_visitor(sqlite_tracker):
    assistant, tracker_db = sqlite_tracker
    visitor, neighbour = Visitor(assistant), Visitor(assistant)
    neighbour.says("who is the contact for Leipzig?")
    writes_and_sends_an_enquiry(visitor, "Greta Lindqvist", "greta@lindqvist.example")

    def rows(pattern: str) -> int:
        with sqlite3.connect(tracker_db) as connection:
            query = "SELECT count(*) FROM events WHERE data LIKE ? OR sender_id = ?"
            return connection.execute(query, (f"%{pattern}%", pattern)).fetchone()[0]

    assert rows("greta@lindqvist.example") > 0
    erases(visitor)
    assert rows("greta@lindqvist.example") == rows("Lindqvist") == 0
    assert rows(conversations.conversation_id("rest", visitor.sender)) == 0
    assert rows(conversations.conversation_id("rest", neighbour.sender)) > 0
    assert "lindqvist" not in json.dumps(assistant.tracker(visitor.sender)).lower()
    assert stored(assistant) == []
