"""Rasa's SQL tracker store, made to carry conversations through a PostgreSQL restart.

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

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs

log = logging.getLogger(__name__)


class RestartSafeSQLTrackerStore(SQLTrackerStore):
    patience = 10.0  # seconds; a restart takes a few, the balancer gives up after 30
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

    async def save(self, tracker) -> None:
        await super().stream_events(tracker)
        await self._patiently(super().save, tracker)

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
