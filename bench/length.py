"""Cost per message as a conversation grows: conversations of 200 turns, one after the
other, on one Rasa server, each turn's answer time kept by its position in the
conversation. A returning widget visitor or a Telegram chat that goes on for weeks
is one long conversation; if each turn costs more than the one before, the server's
capacity falls with them."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import aiohttp

from bench.load import MESSAGES, TIMEOUT
from harness.production import one_server, unavailable
from harness.servers import running_assistant

MARKS = (10, 50, 100, 200)  # turns reported
TURNS_PER_MARK = 10  # each mark's figure is the median of the turns up to it, in every conversation


async def _conversation(session: aiohttp.ClientSession, url: str, turns: int) -> list[float]:
    sender = uuid.uuid4().hex
    latencies = []
    for turn in range(turns):
        body = {"sender": sender, "message": MESSAGES[turn % len(MESSAGES)]}
        started = time.perf_counter()
        async with session.post(url, json=body) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"turn {turn + 1} answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


async def _conversations(base_url: str, count: int, turns: int) -> list[list[float]]:
    url = f"{base_url}/webhooks/rest/webhook"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        await _conversation(session, url, 2)  # warm-up
        return [await _conversation(session, url, turns) for _ in range(count)]


def measure(base_url: str, conversations: int = 3, marks: tuple[int, ...] = MARKS) -> dict:
    """Median answer time (ms) at each mark, and the last mark's over the first's."""
    runs = asyncio.run(_conversations(base_url, conversations, max(marks)))
    at = {
        mark: 1000
        * statistics.median(
            latency for run in runs for latency in run[mark - TURNS_PER_MARK : mark]
        )
        for mark in marks
    }
    return {
        "conversations": conversations,
        "p50_ms": {str(mark): value for mark, value in at.items()},
        "growth": at[max(marks)] / at[min(marks)],
    }


def run(workdir: Path, stock, conversations: int = 3) -> dict:
    """This assistant on the default layout (in-memory tracker store) and on the
    production one (PostgreSQL, Redis locks; one server, no front door), and stock
    ``rasa init`` (``stock`` is its context manager), in one run."""
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"cores": os.cpu_count()}
    with running_assistant(workdir / "default") as assistant:
        results["default"] = measure(assistant.url, conversations)
    reason = unavailable()
    if reason:
        results["production"] = {"skipped": reason}
    else:
        with one_server(workdir / "production", "length") as assistant:
            results["production"] = measure(assistant.url, conversations)
    with stock(workdir / "stock") as reference:
        results["stock"] = measure(reference["url"], conversations)
    return results
