"""The redelivery memory that several Rasa servers share, against the real Redis."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis

from bot import settings
from bot.messengers.shared_ids import TTL_SECONDS, RedisSeenIds, seen_ids
from bot.messengers.updates import SeenIds
from harness.servers import free_port
from tests.support.redis import DB, REDIS, needs_redis, own_prefix


@pytest.fixture
def prefix():
    with own_prefix() as name:
        yield name


def servers(prefix: str, count: int = 2, **options) -> list[RedisSeenIds]:
    """The memories of ``count`` Rasa servers' Telegram channels."""
    return [
        RedisSeenIds("telegram:123", *REDIS, db=DB, prefix=prefix, **options) for _ in range(count)
    ]


def ask(memories: list[RedisSeenIds], *questions: tuple[int, int]) -> list[bool]:
    """``first_time`` of (memory index, update id) pairs, one after the other."""

    async def run() -> list[bool]:
        try:
            return [await memories[which].first_time(update_id) for which, update_id in questions]
        finally:
            for memory in memories:
                await memory.close()

    return asyncio.run(run())


@needs_redis
def test_an_update_is_new_once_for_all_servers(prefix):
    answers = ask(servers(prefix), (0, 7), (0, 7), (1, 7), (1, 8), (0, 8), (1, 8))
    assert answers == [True, False, False, True, False, False]
    client = redis.Redis(*REDIS, db=DB)
    assert TTL_SECONDS - 5 < client.ttl(f"{prefix}:seen:telegram:123:7") <= TTL_SECONDS
    client.close()


@needs_redis
def test_of_servers_asked_at_the_same_moment_exactly_one_is_first(prefix):
    memories = servers(prefix, count=5)

    async def run() -> list[bool]:
        answers = await asyncio.gather(*(memory.first_time(42) for memory in memories * 4))
        for memory in memories:
            await memory.close()
        return answers

    assert sorted(asyncio.run(run())) == [False] * 19 + [True]


@needs_redis
def test_an_update_is_new_again_after_its_time(prefix):
    memories = servers(prefix, count=1, ttl=1)
    assert ask(memories, (0, 9), (0, 9)) == [True, False]
    time.sleep(2.1)
    assert ask(memories, (0, 9), (0, 9)) == [True, False]


@needs_redis
def test_the_channels_namespaces_do_not_meet(prefix):
    telegram, other_bot, facebook = (
        RedisSeenIds(namespace, *REDIS, db=DB, prefix=prefix)
        for namespace in ("telegram:123", "telegram:456", "facebook")
    )
    assert ask([telegram, other_bot, facebook], (0, 5), (1, 5), (2, 5)) == [True, True, True]


def test_without_redis_every_update_is_answered_and_a_warning_logged(caplog):
    memories = [RedisSeenIds("telegram:123", "127.0.0.1", free_port())]  # nothing listens
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.messengers.shared_ids"):
        assert ask(memories, (0, 1), (0, 1)) == [True, True]
    assert time.monotonic() - started < 5
    assert len(caplog.records) == 2 and "Redis did not answer" in caplog.records[0].message


def test_redis_is_used_when_redis_host_is_set(monkeypatch):
    for name in ("REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_KEY_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(seen_ids("facebook"), SeenIds)
    monkeypatch.setenv("REDIS_HOST", "redis.internal")
    monkeypatch.setenv("REDIS_KEY_PREFIX", "hubprod")
    settings.reset()  # as a restarted process reads them
    shared = seen_ids("facebook")
    assert isinstance(shared, RedisSeenIds) and shared.key_prefix == "hubprod:seen:facebook:"
