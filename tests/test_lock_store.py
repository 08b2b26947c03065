"""The conversation lock several Rasa servers share (nlu/server/lock_store.py), against
the real Redis: two servers queueing at once lose no ticket, never both hold one
conversation, and a message behind a dead server's ticket gets the lock when that
ticket runs out."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from nlu.server.lock_store import SharedRedisLockStore
from tests.support.redis import DB, REDIS, needs_redis

pytestmark = needs_redis


def servers(kind=SharedRedisLockStore, count: int = 2) -> list:
    return [kind(host=REDIS[0], port=REDIS[1], db=DB) for _ in range(count)]


def in_threads(work, stores) -> None:
    start = threading.Barrier(len(stores))

    def run(store) -> None:
        start.wait()
        work(store)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def tickets_issued_at_once(kind) -> tuple[list[int], int]:
    conversation = f"rest:{uuid.uuid4().hex}"
    issued: list[int] = []
    stores = servers(kind)
    in_threads(lambda s: issued.extend(s.issue_ticket(conversation) for _ in range(200)), stores)
    queued = len(stores[0].get_lock(conversation).tickets)
    stores[0].delete_lock(conversation)
    return issued, queued


def test_two_servers_queueing_at_once_lose_no_ticket():
    issued, queued = tickets_issued_at_once(SharedRedisLockStore)
    assert len(issued) == len(set(issued)) == queued == 400


def test_two_servers_never_hold_one_conversation_at_once_and_serve_every_message():
    conversation = f"rest:{uuid.uuid4().hex}"
    held: list[tuple[float, float]] = []

    def messages(store) -> None:
        async def one() -> None:
            async with store.lock(conversation, wait_time_in_seconds=0.01):
                entered = time.monotonic()
                await asyncio.sleep(0.005)
                held.append((entered, time.monotonic()))

        async def several() -> None:
            await asyncio.gather(*(one() for _ in range(15)))

        asyncio.run(several())

    in_threads(messages, servers())
    assert len(held) == 30  # none given up with a LockError
    spans = sorted(held)
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))
    assert servers(count=1)[0].get_lock(conversation) is None  # the last one cleaned up


def test_a_message_behind_a_dead_servers_ticket_gets_the_lock_when_it_runs_out():
    """Rasa gave the waiter the holder's lifetime: both ran out together, and the
    waiter was never served (until nginx gave up, a 504 after 60 s)."""
    conversation = f"rest:{uuid.uuid4().hex}"
    dead, alive = servers()
    dead.issue_ticket(conversation, lock_lifetime=0.5)  # killed: never cleaned up

    async def next_message() -> float:
        started = time.monotonic()
        async with alive.lock(conversation, lock_lifetime=0.5, wait_time_in_seconds=0.1):
            return time.monotonic() - started

    waited = asyncio.run(asyncio.wait_for(next_message(), timeout=5))
    assert 0.4 < waited < 1.5
    assert alive.get_lock(conversation) is None


def test_another_rasa_version_is_refused_at_start(monkeypatch):
    import rasa

    from nlu.server.patches import UnsupportedVersion

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(UnsupportedVersion, match="lock_store.py was written for Rasa 3.6.21"):
        servers(count=1)
