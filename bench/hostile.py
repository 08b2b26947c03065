"""The hostile section of `make bench`: what one client sending too much costs everybody
else. One Rasa server with the default rate limits; a flood of 2,000 REST messages
from one client address (127.0.0.2), each under a new sender id, while a second
visitor (127.0.0.1) has ordinary conversations; that visitor's answer times alone
and during the flood. Also how long a 10 MB message takes to be refused, and the
slowest answer to 5,000-character messages of the shapes that were once slow."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

from bench.load import MESSAGES, percentile
from bot import settings
from harness.servers import running_assistant

FLOOD_MESSAGES = 2000
FLOOD_CONCURRENCY = 20
FLOOD_ADDRESS = "127.0.0.2"  # Linux answers every 127.x address on loopback
TIMEOUT = aiohttp.ClientTimeout(total=60)
SHAPES = {  # text that is not language, each once quadratic somewhere in the pipeline
    "one long word": "a" * settings.MESSAGE_MAX_CHARS,
    "dashes": "-" * settings.MESSAGE_MAX_CHARS,
    "a compound": ("Energieinfrastruktur" * settings.MESSAGE_MAX_CHARS)[
        : settings.MESSAGE_MAX_CHARS
    ],
    "words": ("Dresden Leipzig " * settings.MESSAGE_MAX_CHARS)[: settings.MESSAGE_MAX_CHARS],
}
LIMITS = settings.load({}).rate_limit, settings.load({}).client_rate_limit
# a deployment's default limits (the test harness raises them)
DEFAULT_LIMITS = {
    "RATE_LIMIT_BURST": str(LIMITS[0].burst),
    "RATE_LIMIT_PER_MINUTE": str(LIMITS[0].per_minute),
    "RATE_LIMIT_CLIENT_BURST": str(LIMITS[1].burst),
    "RATE_LIMIT_CLIENT_PER_MINUTE": str(LIMITS[1].per_minute),
}


async def _visitor(session, url: str, until: asyncio.Event | None, rounds: int) -> list[float]:
    """Ordinary conversations: ``rounds`` of them, or until ``until`` is set."""
    latencies: list[float] = []
    done = 0
    while (until is None and done < rounds) or (until is not None and not until.is_set()):
        sender = uuid.uuid4().hex
        for message in MESSAGES:
            started = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": message}) as answer:
                await answer.read()
                if answer.status == 200:
                    latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.2)  # between messages, as a quick reader
        done += 1
    return latencies


async def _flood(url: str) -> tuple[Counter, float]:
    statuses: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(FLOOD_MESSAGES):
        queue.put_nowait(uuid.uuid4().hex)
    connector = aiohttp.TCPConnector(local_addr=(FLOOD_ADDRESS, 0), limit=FLOOD_CONCURRENCY)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:

        async def worker() -> None:
            while not queue.empty():
                body = {"sender": queue.get_nowait(), "message": "hello"}
                try:
                    async with session.post(url, json=body) as answer:
                        await answer.read()
                        statuses[answer.status] += 1
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    statuses[type(error).__name__] += 1

        await asyncio.gather(*(worker() for _ in range(FLOOD_CONCURRENCY)))
    return statuses, time.perf_counter() - started


def _summary(latencies: list[float]) -> dict:
    return {
        "answers": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p95_ms": percentile(latencies, 95) * 1000 if latencies else None,
    }


async def _flood_section(url: str) -> dict:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        before = await _visitor(session, url, None, rounds=2)
        flooding = asyncio.Event()
        during_task = asyncio.create_task(_visitor(session, url, flooding, rounds=0))
        statuses, seconds = await _flood(url)
        flooding.set()
        during = await during_task
    return {
        "flood": {
            "messages": FLOOD_MESSAGES,
            "seconds": seconds,
            "statuses": {str(k): v for k, v in statuses.items()},
        },
        "visitor_before": _summary(before),
        "visitor_during": _summary(during),
    }


async def _refusal_seconds(url: str) -> dict:
    body = json.dumps({"sender": "big", "message": "a" * (10 * 1024 * 1024)}).encode()
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        try:
            async with session.post(url, data=body) as answer:
                status = answer.status
        # the server may close while we still send: aiohttp's error, or the socket's
        except (aiohttp.ClientError, ConnectionError) as error:
            status = type(error).__name__
    return {"status": status, "seconds": time.perf_counter() - started}


async def _shapes(url: str) -> dict:
    seconds = {}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for name, text in SHAPES.items():
            started = time.perf_counter()
            async with session.post(url, json={"sender": uuid.uuid4().hex, "message": text}) as a:
                await a.read()
            seconds[name] = time.perf_counter() - started
    return seconds


def run(workdir: Path) -> dict:
    with running_assistant(workdir, extra_env=DEFAULT_LIMITS) as assistant:
        url = f"{assistant.url}/webhooks/rest/webhook"
        flood = asyncio.run(_flood_section(url))
        return {
            **flood,
            "ten_mb_message": asyncio.run(_refusal_seconds(url)),
            "long_message_seconds": asyncio.run(_shapes(url)),
            "flood_concurrency": FLOOD_CONCURRENCY,
        }
