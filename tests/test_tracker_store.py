"""The tracker stores the project ships forget what a visitor asked to have erased and
what is older than the retention period: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import conversations
from bot.conversations import TRANSCRIPT_LINES
from harness.production import PG, tracker_database
from harness.servers import reachable
from nlu.server import window
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
def store(request, tmp_path, monkeypatch):
    # a sweep also purges the console's gaps in the project database: one of the test's
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
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


# --- windows: what a long conversation costs to read ------------------------------------

ONE_SLOT = {"slots": {"hub": {"type": "text", "mappings": [{"type": "custom"}]}}}


def turn(tracker, number: int) -> None:
    tracker.update(UserUttered(f"question {number}", intent={"name": "ask_hub"}))
    if number == 1:
        tracker.update(SlotSet("hub", "leipzig"))
    tracker.update(ActionExecuted("action_answer_hub"))
    tracker.update(BotUttered(f"answer {number}"))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))


def a_long_conversation(store, sender: str, turns: int):
    """A conversation as the processor makes it: read, one turn added, saved."""
    for number in range(1, turns + 1):
        tracker = asyncio.run(store.get_or_create_tracker(sender))
        turn(tracker, number)
        save(store, tracker)
    return asyncio.run(store.retrieve(sender))


def texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, (UserUttered, BotUttered)) and e.text]


@pytest.fixture
def windowed(store):
    store.domain = Domain.from_dict(ONE_SLOT)
    return store


def test_a_long_conversation_is_read_as_its_last_turns_with_its_state(windowed):
    tracker = a_long_conversation(windowed, "long", 120)
    turns = [e for e in tracker.events if isinstance(e, ActionExecuted)]
    assert len(turns) <= 2 * (window.TURNS_KEPT + window.TURNS_SPARE) + 1
    assert tracker.get_slot("hub") == "leipzig"  # set in the first turn
    assert tracker.latest_message.text == "question 120"
    said = [f"{kind} {n}" for n in range(1, 121) for kind in ("question", "answer")]
    assert texts(tracker.events)[-TRANSCRIPT_LINES:] == said[-TRANSCRIPT_LINES:]


def test_the_event_broker_gets_every_event_of_a_long_conversation_once(windowed):
    a_long_conversation(windowed, "long", 40)
    streamed = [e.get("text") for e in windowed.event_broker.events if e["event"] == "user"]
    assert streamed == [f"question {n}" for n in range(1, 41)]


def test_the_sql_store_keeps_every_event_of_a_long_conversation(windowed):
    if isinstance(windowed, ForgettingInMemoryTrackerStore):
        pytest.skip("the in-memory store keeps the window only")
    a_long_conversation(windowed, "long", 40)
    everything = asyncio.run(windowed.retrieve_full_tracker("long"))
    assert texts(everything.events) == [
        f"{kind} {n}" for n in range(1, 41) for kind in ("question", "answer")
    ]


def test_a_visitor_back_after_the_session_expired_is_read_from_the_new_session(windowed):
    a_long_conversation(windowed, "back", 30)
    tracker = asyncio.run(windowed.retrieve("back"))
    tracker.update(ActionExecuted(ACTION_SESSION_START_NAME))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    turn(tracker, 31)
    save(windowed, tracker)
    again = asyncio.run(windowed.retrieve("back"))
    assert texts(again.events) == ["question 31", "answer 31"]
    assert again.get_slot("hub") is None  # Rasa's session start carries no slot here
