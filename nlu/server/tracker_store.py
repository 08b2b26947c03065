"""The tracker stores the endpoints files name: Rasa's in-memory and SQL stores, made to
forget what a visitor asked to have erased, and what is older than the retention period.

Erasure: the turn in which ``action_delete_my_data`` ran and restarted the
conversation (bot/conversations.py) is not saved; instead every event of the
conversation is deleted, and the event broker is told (``conversation_erased``), so the
next message starts an empty conversation and Rasa's HTTP API shows nothing of it.
Retention: at most once every ``sweep_seconds`` a save also deletes the conversations
idle for longer than ``CONVERSATION_RETENTION_DAYS``.

The SQL store also carries conversations through a PostgreSQL restart.

Rasa creates its engine without ``pool_pre_ping`` (with ``login_db``, a second time
without any options), so after a restart the next query on a pooled connection
failed; Rasa's fail-safe wrapper then answered from an empty conversation (context
lost) and did not store the message. The same happens to messages that reach the
database while it shuts down or starts, and a fast shutdown breaks queries in flight.
So connections are tested when taken from the pool, and reads and writes wait for the
server, up to ``patience`` seconds per outage. Retrying is safe: a read changes
nothing, a write stores only the events the database does not hold yet.
``endpoints.prod.yml`` names this class.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa
from rasa.core.tracker_store import (
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.events import ActionExecuted, Restarted, UserUttered

from bot import conversations, settings

log = logging.getLogger(__name__)

ERASED_EVENT = "conversation_erased"


def erasure_requested(tracker) -> bool:
    """Whether this turn (the events since the visitor's last message) erased the
    visitor's data: the erasure action ran and restarted the conversation."""
    erased = restarted = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        restarted = restarted or isinstance(event, Restarted)
        erased = erased or (
            isinstance(event, ActionExecuted) and event.action_name == conversations.ERASE_ACTION
        )
    return erased and restarted


class ForgettingStore:
    """What both stores share; each says how it deletes (:meth:`_delete`,
    :meth:`_delete_idle`)."""

    sweep_seconds = 3600.0
    _next_sweep = 0.0

    async def save(self, tracker) -> None:
        if erasure_requested(tracker):
            await TrackerStore.stream_events(self, tracker)  # the broker counts the turn
            await self.erase(tracker.sender_id)
        else:
            await self._save_turn(tracker)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_seconds
            try:
                await self.sweep()
            except Exception:  # the turn is saved; the next sweep tries again
                log.exception("retention sweep of the tracker store failed")

    async def erase(self, sender_id: str) -> None:
        deleted = await self._delete(sender_id)
        log.info("conversation erased on request (%s events)", deleted)
        if self.event_broker is not None:
            self.event_broker.publish(
                {"event": ERASED_EVENT, "sender_id": sender_id, "timestamp": time.time()}
            )

    async def sweep(self, now: float | None = None) -> int:
        days = settings.get().conversation_retention_days
        cutoff = (time.time() if now is None else now) - days * 86400
        removed = await self._delete_idle(cutoff)
        if removed:
            log.info("retention: removed %s conversations idle for %s days", removed, days)
        return removed


class ForgettingInMemoryTrackerStore(ForgettingStore, InMemoryTrackerStore):
    """Rasa's in-memory store (the default layout) that forgets on request."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last_saved: dict[str, float] = {}

    async def _save_turn(self, tracker) -> None:
        last_event = tracker.events[-1].timestamp if tracker.events else time.time()
        self._last_saved[tracker.sender_id] = last_event  # as the SQL store's max(timestamp)
        await InMemoryTrackerStore.save(self, tracker)

    async def _delete(self, sender_id: str) -> int:
        self._last_saved.pop(sender_id, None)
        return 0 if self.store.pop(sender_id, None) is None else 1

    async def _delete_idle(self, cutoff: float) -> int:
        idle = [sender for sender, saved in self._last_saved.items() if saved < cutoff]
        for sender in idle:
            await self._delete(sender)
        return len(idle)


class RestartSafeSQLTrackerStore(ForgettingStore, SQLTrackerStore):
    patience = 10.0  # seconds; a restart takes a few, the front door gives up after 60
    pause = 0.5
    _outage_ends: float | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id, fetch_events_from_all_sessions):
        return await self._patiently(super()._retrieve, sender_id, fetch_events_from_all_sessions)

    async def stream_events(self, tracker) -> None:
        """Done by :meth:`save` itself, once, not on each attempt to write."""

    async def _save_turn(self, tracker) -> None:
        await TrackerStore.stream_events(self, tracker)
        await self._patiently(SQLTrackerStore.save, self, tracker)

    async def _delete(self, sender_id: str) -> int:
        events = self.SQLEvent.__table__
        statement = sa.delete(events).where(events.c.sender_id == sender_id)
        return await self._patiently(self._in_thread, lambda c: c.execute(statement).rowcount)

    async def _delete_idle(self, cutoff: float) -> int:
        events = self.SQLEvent.__table__
        idle = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )

        def delete_idle(connection) -> int:
            count = len(connection.execute(idle).scalars().all())
            connection.execute(sa.delete(events).where(events.c.sender_id.in_(idle)))
            return count

        return await self._patiently(self._in_thread, delete_idle)

    async def _in_thread(self, work):
        """One transaction in a thread: a sweep may delete many rows, and the event
        loop serves visitors meanwhile."""

        def run():
            with self.engine.begin() as connection:
                return work(connection)

        return await asyncio.to_thread(run)

    async def _patiently(self, call, *args):
        """Wait out an outage: all calls together up to ``patience`` seconds from its
        first failure (a message makes several), after that each tries once."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                result = await call(*args)
            except sa.exc.OperationalError as error:
                if self._outage_ends is None:
                    self._outage_ends = loop.time() + self.patience
                    log.warning("PostgreSQL unavailable, waiting for it: %s", error.orig)
                if loop.time() + self.pause > self._outage_ends:
                    raise
                await asyncio.sleep(self.pause)
            else:
                self._outage_ends = None
                return result
