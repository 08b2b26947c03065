"""The console's accounts, sessions and guards without a browser: argon2id hashes, signed
session cookies, the sign-in limit, and the operators command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot import settings
from bot.console import accounts, audit, sessions
from bot.console.models import ConsoleSessionRow
from bot.settings import PROJECT_ROOT

PASSWORD = "correct horse battery"


@pytest.fixture
def console_db(tmp_path, monkeypatch, sqlite_factory):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_factory.kw["bind"].url))
    monkeypatch.setenv("SESSION_SECRET", "a-secret-for-the-tests")
    settings.reset()
    yield sqlite_factory
    settings.reset()


def test_passwords_are_stored_as_argon2id_hashes_and_checked(console_db):
    operator = accounts.add(console_db, "anna", PASSWORD)
    assert (
        operator.password_hash.startswith("$argon2id$") and PASSWORD not in operator.password_hash
    )
    assert accounts.signed_in(console_db, "anna", PASSWORD).name == "anna"
    assert accounts.signed_in(console_db, "anna", PASSWORD + "!") is None
    assert accounts.signed_in(console_db, "nobody", PASSWORD) is None


@pytest.mark.parametrize(
    "name, password", [("anna", "short"), ("Anna Smith", PASSWORD), ("-x", PASSWORD)]
)
def test_weak_passwords_and_odd_names_are_refused(console_db, name, password):
    with pytest.raises(accounts.AccountError):
        accounts.add(console_db, name, password)
    assert accounts.names(console_db) == []


def test_a_session_cookie_works_until_tampered_with_expired_or_ended(console_db):
    cookie = sessions.start(console_db, accounts.add(console_db, "anna", PASSWORD))
    assert sessions.current(console_db, cookie).operator == "anna"
    token, signature = cookie.split(".")
    assert sessions.current(console_db, f"{token}x.{signature}") is None
    assert sessions.current(console_db, token) is None
    with console_db() as session, session.begin():
        session.execute(
            update(ConsoleSessionRow).values(expires_at=datetime.utcnow() - timedelta(1))
        )
    assert sessions.current(console_db, cookie) is None
    again = sessions.start(console_db, accounts.signed_in(console_db, "anna", PASSWORD))
    sessions.end(console_db, again)
    assert sessions.current(console_db, again) is None


def test_removing_an_operator_ends_their_sessions(console_db):
    cookie = sessions.start(console_db, accounts.add(console_db, "anna", PASSWORD))
    assert accounts.remove(console_db, "anna")
    assert sessions.current(console_db, cookie) is None


def with_console(check):
    from bot.web.app import create_app

    async def run():
        async with TestClient(TestServer(create_app("http://127.0.0.1:9"))) as client:
            return await check(client)

    return asyncio.run(run())


def test_sign_in_attempts_are_limited_per_address(console_db):
    accounts.add(console_db, "anna", PASSWORD)

    async def check(client):
        page = await client.get("/console/signin")
        token = page.cookies["hub_console_sign_in"].value
        statuses = []
        for _ in range(7):
            answer = await client.post(
                "/console/signin",
                data={"csrf": token, "name": "anna", "password": "guess number one"},
                allow_redirects=False,
            )
            statuses.append(answer.status)
            token = answer.cookies["hub_console_sign_in"].value
        right = await client.post(
            "/console/signin",
            data={"csrf": token, "name": "anna", "password": PASSWORD},
            allow_redirects=False,
        )
        return statuses, right.status

    statuses, right = with_console(check)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert right == 429  # the right password too, until the minute is over
    assert [r.action for r in audit.recent(console_db)].count("sign-in refused") == 5


def test_a_sign_in_without_the_forms_token_is_refused(console_db):
    accounts.add(console_db, "anna", PASSWORD)

    async def check(client):
        answer = await client.post(
            "/console/signin", data={"name": "anna", "password": PASSWORD}, allow_redirects=False
        )
        return answer.status, "hub_console" in answer.cookies

    assert with_console(check) == (403, False)


def test_the_session_cookie_is_http_only_strict_and_scoped_to_the_console(console_db):
    accounts.add(console_db, "anna", PASSWORD)

    async def check(client):
        page = await client.get("/console/signin")
        token = page.cookies["hub_console_sign_in"].value
        answer = await client.post(
            "/console/signin",
            data={"csrf": token, "name": "anna", "password": PASSWORD, "next": "//evil.example/"},
            allow_redirects=False,
        )
        return answer.status, answer.headers["Location"], answer.headers.getall("Set-Cookie")

    status, location, cookies = with_console(check)
    assert status == 303 and location == "/console/"  # never to another site
    session_cookie = next(c for c in cookies if c.startswith("hub_console="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    assert "Path=/console/" in session_cookie


def test_the_operators_command_asks_for_the_password_twice(console_db):
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    command = [sys.executable, "-m", "bot", "operators"]
    differing = subprocess.run(
        [*command, "add", "ben"], input=f"{PASSWORD}\nsomething else\n", text=True,
        capture_output=True, env=env, start_new_session=True, timeout=60,
    )  # fmt: skip
    assert differing.returncode == 1 and "differ" in differing.stderr
    added = subprocess.run(
        [*command, "add", "ben"], input=f"{PASSWORD}\n{PASSWORD}\n", text=True,
        capture_output=True, env=env, start_new_session=True, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    listed = subprocess.run([*command, "list"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.stdout.split() == ["ben"]
    assert accounts.signed_in(console_db, "ben", PASSWORD) is not None


def test_a_turns_messages_and_gaps_are_counted_by_week_and_language(console_db):
    from rasa.shared.core.constants import ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    from bot.console import tallies
    from bot.console.models import GapRow
    from nlu.server.tracker_store import TurnCounts

    counts = TurnCounts(flush_seconds=0)
    turn = [
        ActionExecuted(ACTION_SESSION_START_NAME),
        UserUttered("wie ist das Wetter?"),
        SlotSet("language", "de"),
    ]
    declined = GapRow(language="de", kind="declined", text="wie ist das Wetter?")
    counts.count(turn, [declined], None)
    counts.count([UserUttered("und morgen?")], [declined], "de")
    asyncio.run(counts.flush_when_due())
    ((week, by_language),) = tallies.weekly(console_db).items()
    assert week == tallies.week_of(datetime.utcnow())
    assert by_language == {"de": {"conversations": 1, "messages": 2, "declined": 2}}
