"""The tracker stores the endpoints files name: Rasa's in-memory and SQL stores, made to
forget what a visitor asked to have erased, and what is older than the retention period.

Erasure: the turn in which ``action_delete_my_data`` ran and restarted the
conversation (bot/conversations.py) is not saved; instead every event of the
conversation is deleted, and the event broker is told (``conversation_erased``), so the
next message starts an empty conversation and Rasa's HTTP API shows nothing of it.
Retention: at most once every ``sweep_seconds`` a save also deletes the conversations
idle for longer than ``CONVERSATION_RETENTION_DAYS``, and the gaps older than that.

Gaps: each saved turn's visitor messages that the assistant could not answer are
written to the project database for the operators' console (bot/console/gaps.py), in
a thread and only when there are any; a failure there is logged, never the turn's.

Both read and write a window of each conversation, not all of it
(nlu/server/window.py), so that a message costs the same at turn 200 as at turn 10:
the in-memory store keeps only the window; the SQL store keeps every event, as Rasa
does, and reads the window from a row of ``conversation_windows`` (its opening and
the id of its first stored event). Each store streams to the event broker the events
the tracker did not hold when it was read, without reading it again as Rasa does.

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
import functools
import json
import logging
import time
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from rasa.core.tracker_store import (
    InMemoryTrackerStore,
    SQLTrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Event, Restarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import conversations, db, settings
from bot.console import gaps, tallies
from nlu.server import window

log = logging.getLogger(__name__)

ERASED_EVENT = "conversation_erased"
KNOWN = "_hub_events_known"  # on a tracker: how many of its events the store holds
READ_FROM = "_hub_read_from"  # on a tracker of the SQL store: (first event id, opening
# length, whether the window moved as it was read)

WINDOWS = sa.Table(
    "conversation_windows",
    sa.MetaData(),
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("first_event_id", sa.Integer, nullable=False),
    sa.Column("opening", sa.Text, nullable=False),  # JSON list of events
)


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


def language_when_read(events: list[Event], known: int) -> str | None:
    """The ``language`` slot of the tracker before its first ``known`` events."""
    for event in reversed(events[:known]):
        if isinstance(event, Restarted):
            return None
        if isinstance(event, SlotSet) and event.key == gaps.LANGUAGE_SLOT:
            return event.value
    return None


async def record_gaps(new: list[Event], sender_id: str, language: str | None) -> list:
    """The turn's unanswered messages for the console; the database only when there
    are any, and never the reason a save fails."""
    try:
        found = gaps.gaps_in(new, sender_id, language)
        if found:
            await asyncio.to_thread(lambda: gaps.record(db.session_factory(), found))
        return found
    except Exception:
        log.exception("could not record the messages the assistant could not answer")
        return []


class TurnCounts:
    """The overview's weekly counts (bot/console/tallies.py), added up in memory and
    written at most every ``flush_seconds``, so a turn costs no write of its own."""

    def __init__(self, flush_seconds: float = 10.0):
        self.pending: Counter = Counter()
        self.flush_seconds = flush_seconds
        self._next_flush = time.monotonic() + flush_seconds

    def count(self, new: list[Event], found: list, language: str | None) -> None:
        week = tallies.week_of(datetime.utcnow())
        spoken = (
            next(
                (
                    e.value
                    for e in reversed(new)
                    if isinstance(e, SlotSet) and e.key == gaps.LANGUAGE_SLOT
                ),
                language,
            )
            or gaps.DEFAULT_LANGUAGE
        )
        messages = sum(isinstance(e, UserUttered) for e in new)
        started = sum(
            isinstance(e, ActionExecuted) and e.action_name == ACTION_SESSION_START_NAME
            for e in new
        )
        for measure, count in (("messages", messages), ("conversations", started)):
            if count:
                self.pending[(week, spoken, measure)] += count
        for gap in found:
            self.pending[(week, gap.language, gap.kind)] += 1

    async def flush_when_due(self) -> None:
        if not self.pending or time.monotonic() < self._next_flush:
            return
        self._next_flush = time.monotonic() + self.flush_seconds
        counts, self.pending = self.pending, Counter()
        try:
            await asyncio.to_thread(lambda: tallies.add(db.session_factory(), counts))
        except Exception:  # counted again with the next flush
            log.exception("could not write the weekly counts")
            self.pending.update(counts)


class ForgettingStore:
    """What both stores share; each says how it deletes (:meth:`_delete`,
    :meth:`_delete_idle`)."""

    sweep_seconds = 3600.0
    _next_sweep = 0.0

    @functools.cached_property
    def turn_counts(self) -> TurnCounts:
        return TurnCounts()

    async def save(self, tracker) -> None:
        events = list(tracker.events)
        known = getattr(tracker, KNOWN, 0)
        new = events[known:]
        if self.event_broker is not None:  # the broker counts an erased turn too
            await self._stream_new_events(self.event_broker, new, tracker.sender_id)
        if erasure_requested(tracker):
            await self.erase(tracker.sender_id)
        else:
            await self._save_turn(tracker, events)
            language = language_when_read(events, known)
            found = await record_gaps(new, tracker.sender_id, language)
            self.turn_counts.count(new, found, language)
            await self.turn_counts.flush_when_due()
        setattr(tracker, KNOWN, len(events))
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
        await self._purge_gaps(cutoff)
        return removed

    async def _purge_gaps(self, cutoff: float) -> None:
        """What visitors asked leaves the console when their conversations would."""
        try:
            purged = await asyncio.to_thread(
                lambda: gaps.purge(db.session_factory(), gaps.utc(cutoff))
            )
        except Exception:  # the next sweep tries again
            log.exception("retention sweep of the gaps failed")
        else:
            if purged:
                log.info("retention: removed %s unanswered messages", purged)


class ForgettingInMemoryTrackerStore(ForgettingStore, InMemoryTrackerStore):
    """Rasa's in-memory store (the default layout) that forgets on request."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last_saved: dict[str, float] = {}

    async def _save_turn(self, tracker, events: list[Event]) -> None:
        last_event = events[-1].timestamp if events else time.time()
        self._last_saved[tracker.sender_id] = last_event  # as the SQL store's max(timestamp)
        kept = window.kept(events, self.domain.slots, tracker.sender_id)
        if kept is not None:
            first, opening = kept
            tracker = DialogueStateTracker.from_events(
                tracker.sender_id, opening + events[first:], self.domain.slots
            )
        self.store[tracker.sender_id] = self.serialise_tracker(tracker)

    async def _retrieve(self, sender_id, fetch_all_sessions):
        """The window, the only part of a conversation this store keeps."""
        if sender_id not in self.store:
            return None
        tracker = self.deserialise_tracker(sender_id, self.store[sender_id])
        setattr(tracker, KNOWN, len(tracker.events))
        return tracker

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
        self.events = self.SQLEvent.__table__
        WINDOWS.metadata.create_all(self.engine)
        with self.engine.begin() as connection:  # a window's events, read by range
            connection.execute(
                sa.text("CREATE INDEX IF NOT EXISTS events_by_sender ON events (sender_id, id)")
            )

    async def _retrieve(self, sender_id, fetch_events_from_all_sessions):
        """Every event: Rasa's HTTP API (``retrieve_full_tracker``) shows them all."""
        return await self._patiently(super()._retrieve, sender_id, fetch_events_from_all_sessions)

    async def retrieve(self, sender_id):
        """The conversation's window: its opening and the events from its first on."""
        found = await self._patiently(self._in_thread, lambda c: self._read(c, sender_id))
        if found is None:
            return None
        first_id, opening, rows = found
        events = [Event.from_parameters(d) for d in opening + [json.loads(r.data) for r in rows]]
        start = window.session_start(events)
        if start:  # a real session began in the window: Rasa reads from there
            first_id, opening, events = rows[start - len(opening)].id, [], events[start:]
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        setattr(tracker, KNOWN, len(events))
        setattr(tracker, READ_FROM, (first_id, len(opening), bool(start)))
        return tracker

    def _read(self, connection, sender_id):
        start = connection.execute(
            sa.select(WINDOWS.c.first_event_id, WINDOWS.c.opening).where(
                WINDOWS.c.sender_id == sender_id
            )
        ).first()
        query = sa.select(self.events.c.id, self.events.c.data).where(
            self.events.c.sender_id == sender_id
        )
        if start is not None:
            query = query.where(self.events.c.id >= start.first_event_id)
        rows = connection.execute(query.order_by(self.events.c.id)).all()
        if not rows:
            return None
        if start is None:  # a conversation shorter than a window
            return rows[0].id, [], rows
        return start.first_event_id, json.loads(start.opening), rows

    async def _save_turn(self, tracker, events: list[Event]) -> None:
        *read_from, moved = getattr(tracker, READ_FROM, (None, 0, False))
        kept = window.kept(events, self.domain.slots, tracker.sender_id)
        if kept is None and moved:
            kept = (read_from[1], [])  # the window as read, stored for the next read
        await self._patiently(
            self._in_thread, lambda c: self._write(c, tracker.sender_id, events, read_from, kept)
        )

    def _write(self, connection, sender_id, events, read_from, kept) -> None:
        """The events the database does not hold yet (so a retry stores none twice), and
        the new window's start when the window moves."""
        first_id, opening = read_from
        since = self.events.c.sender_id == sender_id
        if first_id is not None:
            since = since & (self.events.c.id >= first_id)
        stored = connection.execute(sa.select(sa.func.count()).where(since)).scalar_one()
        new = events[opening + stored :]
        if new:
            connection.execute(sa.insert(self.events), [self._row(sender_id, e) for e in new])
        if kept is None:
            return
        first, new_opening = kept
        ids = connection.execute(
            sa.select(self.events.c.id).where(since).order_by(self.events.c.id)
        ).scalars()
        connection.execute(sa.delete(WINDOWS).where(WINDOWS.c.sender_id == sender_id))
        connection.execute(
            sa.insert(WINDOWS).values(
                sender_id=sender_id,
                first_event_id=list(ids)[first - opening],
                opening=json.dumps([e.as_dict() for e in new_opening]),
            )
        )

    @staticmethod
    def _row(sender_id: str, event: Event) -> dict:
        """A row as Rasa's SQLTrackerStore.save writes it."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    async def _delete(self, sender_id: str) -> int:
        def delete(connection) -> int:
            connection.execute(sa.delete(WINDOWS).where(WINDOWS.c.sender_id == sender_id))
            statement = sa.delete(self.events).where(self.events.c.sender_id == sender_id)
            return connection.execute(statement).rowcount

        return await self._patiently(self._in_thread, delete)

    async def _delete_idle(self, cutoff: float) -> int:
        idle = (
            sa.select(self.events.c.sender_id)
            .group_by(self.events.c.sender_id)
            .having(sa.func.max(self.events.c.timestamp) < cutoff)
        )

        def delete_idle(connection) -> int:
            count = len(connection.execute(idle).scalars().all())
            connection.execute(sa.delete(WINDOWS).where(WINDOWS.c.sender_id.in_(idle)))
            connection.execute(sa.delete(self.events).where(self.events.c.sender_id.in_(idle)))
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
