"""The tracker stores the project ships forget what a visitor asked to have erased and
what is older than the retention period: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import conversations
from harness.production import PG, tracker_database
from harness.servers import reachable
from nlu.server.tracker_store import (
    ERASED_EVENT,
    ForgettingInMemoryTrackerStore,
    RestartSafeSQLTrackerStore,
)

DAY = 86400.0


class RecordingBroker(EventBroker):
    def __init__(self):
        self.events = []

    def publish(self, event: dict) -> None:
        self.events.append(event)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    broker, domain = RecordingBroker(), Domain.empty()
    if request.param == "memory":
        yield ForgettingInMemoryTrackerStore(domain, broker)
    elif request.param == "sqlite":
        db = str(tmp_path / "tracker.db")
        yield RestartSafeSQLTrackerStore(domain, dialect="sqlite", db=db, event_broker=broker)
    else:
        if not reachable(*PG):
            pytest.skip("no PostgreSQL on 127.0.0.1:5432")
        with tracker_database("unit") as name:
            sql = RestartSafeSQLTrackerStore(
                domain,
                dialect="postgresql",
                host=PG[0],
                port=PG[1],
                db=name,
                username="postgres",
                login_db="postgres",
                event_broker=broker,
            )
            yield sql
            sql.engine.dispose()


def conversation(sender: str, at: float, email: str = "greta@lindqvist.example"):
    return DialogueStateTracker.from_events(
        conversations.conversation_id("rest", sender),
        [
            UserUttered(f"my address is {email}", timestamp=at),
            BotUttered("Thank you.", timestamp=at),
        ],
    )


def stored(store, sender: str):
    return asyncio.run(store.retrieve(conversations.conversation_id("rest", sender)))


def save(store, tracker) -> None:
    asyncio.run(store.save(tracker))


def test_the_turn_that_erased_the_visitors_data_deletes_the_conversation(store):
    store.sweep_seconds = 1e9
    visitor, neighbour = conversation("visitor", time.time()), conversation("other", time.time())
    save(store, visitor)
    save(store, neighbour)
    visitor.update(UserUttered("/affirm"))
    visitor.update(ActionExecuted(conversations.ERASE_ACTION))
    visitor.update(Restarted())
    save(store, visitor)
    assert stored(store, "visitor") is None
    assert "greta@lindqvist.example" in str(stored(store, "other").events[0].text)
    erased = [e for e in store.event_broker.events if e["event"] == ERASED_EVENT]
    assert [e["sender_id"] for e in erased] == ["rest:visitor"]


def test_a_restart_without_erasure_keeps_the_conversation(store):
    visitor = conversation("visitor", time.time())
    save(store, visitor)
    visitor.update(UserUttered("/restart"))
    visitor.update(ActionExecuted("action_restart"))
    visitor.update(Restarted())
    save(store, visitor)
    assert stored(store, "visitor") is not None


def test_an_erasure_in_an_earlier_turn_does_not_erase_later_ones(store):
    visitor = conversation("visitor", time.time())
    visitor.update(ActionExecuted(conversations.ERASE_ACTION))
    visitor.update(Restarted())
    visitor.update(UserUttered("hello again"))
    save(store, visitor)
    assert stored(store, "visitor") is not None


def test_conversations_idle_past_the_retention_period_are_swept(store, monkeypatch):
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "30")
    store.sweep_seconds = 0  # every save sweeps
    save(store, conversation("old", time.time() - 31 * DAY))
    save(store, conversation("recent", time.time() - 29 * DAY))
    assert stored(store, "old") is None
    assert stored(store, "recent") is not None
    assert asyncio.run(store.sweep(now=time.time() + 2 * DAY)) == 1
    assert stored(store, "recent") is None
