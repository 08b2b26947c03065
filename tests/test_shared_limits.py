"""Rate limits that several Rasa servers share, against the real Redis: a sender or a
client address gets its limit once however many servers it reaches, Redis holds no
address or chat id in clear and nothing for longer than a bucket takes to fill, and
without Redis each server still limits by itself."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis

from bot import settings, shared_limits
from bot.ratelimit import ClientLimits, SenderLimits, bucket_of
from harness.servers import free_port
from tests.support.redis import DB, REDIS, needs_redis, own_prefix

LIMIT = settings.RateLimit(burst=5, per_minute=6)  # one token back every 10 s


@pytest.fixture
def prefix():
    with own_prefix() as name:
        yield name


def server_buckets(prefix: str, kind: str = "sender", port: int = REDIS[1], **options):
    config = settings.Redis(host=REDIS[0], port=port, db=DB, prefix=prefix)
    local = SenderLimits(LIMIT.burst, LIMIT.per_minute)
    return shared_limits.RedisBuckets(kind, LIMIT, config, local, **options)


async def _taking(buckets, keys: list[str]) -> list[float]:
    try:
        return [await buckets[n % len(buckets)].allow(key) for n, key in enumerate(keys)]
    finally:
        for each in buckets:
            await each.close()


def take(buckets, keys: list[str]) -> list[float]:
    """The waits of ``keys`` sent one after another, taking turns between ``buckets``."""
    return asyncio.run(_taking(buckets, keys))


@needs_redis
def test_two_servers_taking_turns_let_a_sender_through_once_not_twice(prefix):
    waits = take([server_buckets(prefix), server_buckets(prefix)], ["rest:noisy"] * 8)
    assert waits[:5] == [0.0] * 5
    assert all(9 < wait <= 10 for wait in waits[5:])  # one token back in 10 s
    assert take([server_buckets(prefix)], ["rest:calm"]) == [0.0]  # others unaffected


@needs_redis
def test_redis_keeps_digests_for_seconds_not_addresses(prefix):
    address = "2001:db8:1:2::7"
    take([server_buckets(prefix, "client", key_of=bucket_of)], [address])
    client = redis.Redis(*REDIS, db=DB)
    try:
        [key] = list(client.scan_iter(f"{prefix}:*"))
        assert b"2001" not in key and key.startswith(f"{prefix}:limit:client:".encode())
        assert 0 < client.ttl(key) <= 51  # full again after 5 tokens at one per 10 s
    finally:
        client.close()


@needs_redis
def test_an_ipv6_client_counts_by_its_network_across_servers(prefix):
    devices = [f"2001:db8:1:2::{n}" for n in range(1, 8)]  # one household's /64
    buckets = [server_buckets(prefix, "client", key_of=bucket_of) for _ in range(2)]
    waits = take(buckets, devices)
    assert waits[:5] == [0.0] * 5 and all(waits[5:])
    other = take([server_buckets(prefix, "client", key_of=bucket_of)], ["2001:db8:9::1"])
    assert other == [0.0]


def test_without_an_answer_from_redis_each_server_limits_by_itself(prefix, caplog):
    unreachable = server_buckets(prefix, port=free_port(), timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="bot.shared_limits"):
        waits = take([unreachable], ["rest:noisy"] * 7)
    assert waits[:5] == [0.0] * 5 and all(waits[5:])
    assert sum("counted per server" in r.getMessage() for r in caplog.records) == 1


def test_without_redis_configured_the_buckets_are_the_processs_own(monkeypatch):
    monkeypatch.delenv("REDIS_HOST", raising=False)
    settings.get.cache_clear()
    try:
        local = ClientLimits(LIMIT.burst, LIMIT.per_minute)
        buckets = shared_limits.buckets("client", LIMIT, local, bucket_of)
    finally:
        settings.get.cache_clear()
    assert isinstance(buckets, shared_limits.LocalBuckets) and buckets.limits is local
