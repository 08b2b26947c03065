"""The rate limits of bot/ratelimit.py shared by every Rasa server in Redis (when
``REDIS_HOST`` is set): with N servers a sender or a client address gets its limit once,
not N times. One Lua script refills and takes a token atomically, on Redis's clock, so
servers whose clocks differ count alike. Without an answer from Redis a process counts
by itself (and says so in its log): a limit per server is better than none, and better
than refusing every visitor because Redis is restarting."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Callable, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import settings
from bot.ratelimit import SenderLimits

log = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: burst, tokens a second. Returns the seconds to wait (0: taken).
TAKE = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""
WARN_EVERY_SECONDS = 60.0


class Buckets(Protocol):
    async def allow(self, key: str) -> float:
        """0 if ``key`` may go on now (and counts it), else the seconds to wait."""


class LocalBuckets:
    """This process's own buckets, for one server (or no Redis)."""

    def __init__(self, limits: SenderLimits):
        self.limits = limits

    async def allow(self, key: str) -> float:
        return self.limits.allow(key)


class RedisBuckets:
    """Keys are digests: a client address or a chat id is personal data, and Redis
    keeps a bucket only until it would be full again (seconds)."""

    def __init__(
        self,
        kind: str,
        limit: settings.RateLimit,
        config: settings.Redis,
        fallback: SenderLimits,
        key_of: Callable[[str], str] = str,
        timeout: float = 0.5,
    ):
        self.key_prefix = f"{config.prefix}:limit:{kind}:"
        self.burst, self.rate = limit.burst, limit.per_minute / 60.0
        self.fallback, self.key_of = fallback, key_of
        self._options = {
            "host": config.host,
            "port": config.port,
            "db": config.db,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        }
        self._client: Redis | None = None
        self._take = None
        self._warned_at = float("-inf")

    def redis_key(self, key: str) -> str:
        digest = hashlib.blake2b(self.key_of(key).encode("utf-8"), digest_size=16)
        return self.key_prefix + digest.hexdigest()

    async def allow(self, key: str) -> float:
        if self._client is None:  # created on the event loop that uses it
            self._client = Redis(**self._options)
            self._take = self._client.register_script(TAKE)
        try:
            wait = await self._take(keys=[self.redis_key(key)], args=[self.burst, self.rate])
        except (RedisError, OSError) as error:
            if time.monotonic() - self._warned_at > WARN_EVERY_SECONDS:
                log.warning("Redis did not answer (%s); limits are counted per server", error)
                self._warned_at = time.monotonic()
            return self.fallback.allow(key)
        return float(wait)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def buckets(
    kind: str,
    limit: settings.RateLimit,
    local: SenderLimits,
    key_of: Callable[[str], str] = str,
) -> LocalBuckets | RedisBuckets:
    """Shared in Redis when ``REDIS_HOST`` is set, else ``local``, this process's."""
    config = settings.get().redis
    if config is None:
        return LocalBuckets(local)
    return RedisBuckets(kind, limit, config, local, key_of)
