"""Rasa's Redis lock store, made safe for several Rasa servers (``endpoints.prod.yml``).

Rasa keeps each conversation's ticket queue as one JSON value and changes it by
reading, changing and writing it back. One server does that between two awaits, so
nothing comes between; two servers do it at once, and one overwrites the other's
ticket. Under 30 messages of one conversation at once through the front door, 2 of the
10 answered with 200 were never read that way: a waiter whose ticket vanished, or
whose queue another server deleted, gets a LockError, which Rasa's REST channel
answers with an empty 200. Here every change is one optimistic transaction (``WATCH``/``MULTI``): a
change that raced another is made again on what the other wrote.

And a message waiting for the lock renews its own ticket each time it looks. Rasa gave
it the holder's lifetime, so when a server died holding the lock (its ticket is never
removed) both ran out together, and the waiter, no longer in the queue, waited until
the front door gave up (60 s, a 504). Now only a dead server's ticket runs out.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Callable, Optional, Text, TypeVar

import rasa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import WatchError

from nlu.server.patches import RASA_VERSION, UnsupportedVersion

Result = TypeVar("Result")
# a change returns its result and the lock to store; None deletes it, KEEP leaves it
KEEP = object()


class SharedRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **options) -> None:
        """From ``endpoints.prod.yml`` (``url`` is the host, as for ``type: redis``),
        or from Redis's options."""
        if rasa.__version__ != RASA_VERSION:  # it replaces LockStore's _acquire_lock
            raise UnsupportedVersion(
                f"nlu/server/lock_store.py was written for Rasa {RASA_VERSION}, "
                f"not {rasa.__version__}: check it against the new lock store"
            )
        if endpoint_config is not None:
            options = {"host": endpoint_config.url, **endpoint_config.kwargs}
        super().__init__(**options)

    def _change(
        self,
        conversation_id: Text,
        change: Callable[[Optional[TicketLock]], tuple[Result, object]],
    ) -> Result:
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    result, changed = change(lock)
                    if changed is KEEP:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    if changed is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, changed.dumps())
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another server changed the queue meanwhile

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]):
            lock = lock or TicketLock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # as Rasa's: the caller expects a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text, renewing: Optional[int] = None) -> None:
        """Rasa's: expired tickets leave the queue; and the waiter holding ``renewing``,
        alive, renews its own."""

        def update(lock: Optional[TicketLock]):
            if lock is None:
                return None, KEEP
            lock.remove_expired_tickets()
            for waiting in lock.tickets:
                if waiting.number == renewing:
                    waiting.expires = time.time() + LOCK_LIFETIME
            return None, lock

        self._change(conversation_id, update)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Rasa's ``finish_serving`` and ``cleanup`` in one: the ticket leaves, and the
        queue goes with its last ticket."""

        def finish(lock: Optional[TicketLock]):
            if lock is None:
                return None, KEEP
            lock.remove_ticket_for(ticket_number)
            return None, lock if lock.is_someone_waiting() else None

        self._change(conversation_id, finish)

    async def _acquire_lock(
        self, conversation_id: Text, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id, renewing=ticket)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
