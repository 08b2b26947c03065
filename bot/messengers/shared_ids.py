"""The ids of the updates handled lately, kept in the Redis that the Rasa servers share,
so that a platform's redelivery is answered once even when it reaches another server."""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import asdict

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import settings
from bot.messengers.updates import SeenIds

log = logging.getLogger(__name__)

# Telegram keeps an update it could not deliver for at most 24 hours (Bot API, "Getting
# updates"); a redelivery comes within that time.
TTL_SECONDS = 24 * 60 * 60


class RedisSeenIds:
    """The same question as :class:`SeenIds`, answered by an atomic ``SET key 1 NX EX``:
    of two servers given the same id, even at the same moment, exactly one is first.
    Without an answer from Redis an update counts as new (and a warning is logged): a
    duplicate answer is better than a lost message."""

    def __init__(
        self,
        namespace: str,
        host: str,
        port: int = 6379,
        db: int = 0,
        prefix: str = "hub",
        ttl: int = TTL_SECONDS,
        timeout: float = 1.0,
    ):
        self.key_prefix = f"{prefix}:seen:{namespace}:"
        self._options = {
            "host": host,
            "port": port,
            "db": db,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        }
        self._ttl = ttl
        self._client: Redis | None = None

    async def first_time(self, update_id: Hashable) -> bool:
        if self._client is None:  # created on the event loop that uses it
            self._client = Redis(**self._options)
        key = f"{self.key_prefix}{update_id}"
        try:
            return bool(await self._client.set(key, 1, nx=True, ex=self._ttl))
        except (RedisError, OSError) as error:
            log.warning("Redis did not answer (%s); %s is handled as new", error, key)
            return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def seen_ids(namespace: str) -> SeenIds | RedisSeenIds:
    """Shared in Redis when ``REDIS_HOST`` is set (several Rasa servers), else this
    process's own memory."""
    config = settings.get().redis
    return RedisSeenIds(namespace, **asdict(config)) if config else SeenIds()
