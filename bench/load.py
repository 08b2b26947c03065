"""REST round-trip latency and throughput at 1, 10 and 50 concurrent conversations,
measured with an asyncio load generator on aiohttp against servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

# What visitors ask; sent to both assistants so that they do the same work.
MESSAGES = [
    "hello",
    "What does the Leipzig hub focus on?",
    "who are its partners?",
    "Who should I talk to about sensor technology?",
    "Is Infineon a partner?",
    "What is SpinLab?",
    "Can I rent office space?",
    "who is the contact for Dresden?",
    "what is the difference between the hubs",
    "thanks, bye",
]
# concurrent visitors -> conversations each visitor has, one after the other; a
# conversation is the ten messages above, as a real visit is short
LEVELS = {1: 6, 10: 4, 50: 1}
TIMEOUT = aiohttp.ClientTimeout(total=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def visitor_address(index: int) -> str:
    """A loopback address of its own for each simulated visitor (Linux answers all of
    127/8), as real visitors come from their own addresses: the servers' per-address
    limits would otherwise take the whole load for one client's flood."""
    return f"127.0.{index // 250 + 1}.{index % 250 + 1}"


async def _visitor(index, url, conversations, latencies, errors) -> None:
    connector = aiohttp.TCPConnector(local_addr=(visitor_address(index), 0))
    async with aiohttp.ClientSession(timeout=TIMEOUT, connector=connector) as session:
        for _ in range(conversations):
            await _conversation(session, url, MESSAGES, latencies, errors)


async def _conversation(session, url, messages, latencies, errors) -> None:
    sender = uuid.uuid4().hex
    for message in messages:
        body = {"sender": sender, "message": message}
        started = time.perf_counter()
        try:
            async with session.post(url, json=body) as response:
                await response.read()
                if response.status != 200:
                    errors.append(response.status)
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            errors.append(type(error).__name__)
            continue
        latencies.append(time.perf_counter() - started)


async def _level(base_url: str, concurrency: int, conversations: int) -> dict:
    url = f"{base_url}/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list = []
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        await _conversation(session, url, MESSAGES[:2], [], [])  # warm-up
    started = time.perf_counter()
    await asyncio.gather(
        *(_visitor(i, url, conversations, latencies, errors) for i in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "messages": len(latencies),
        "errors": len(errors),
        "error_kinds": dict(Counter(map(str, errors))),  # HTTP status or exception name
        "p50_ms": 1000 * percentile(latencies, 50) if latencies else None,
        "p95_ms": 1000 * percentile(latencies, 95) if latencies else None,
        "p99_ms": 1000 * percentile(latencies, 99) if latencies else None,
        "messages_per_s": len(latencies) / elapsed,
    }


def measure(base_url: str, runs: int = 3, levels: dict[int, int] = LEVELS) -> list[dict]:
    """Each level ``runs`` times; the figures reported are the medians of the runs."""
    results = []
    for concurrency, conversations in levels.items():
        repeats = [asyncio.run(_level(base_url, concurrency, conversations)) for _ in range(runs)]
        merged = {"concurrency": concurrency, "runs": repeats}
        for key in ("p50_ms", "p95_ms", "p99_ms", "messages_per_s"):
            values = [r[key] for r in repeats if r[key] is not None]
            merged[key] = statistics.median(values) if values else None
        merged["errors"] = sum(r["errors"] for r in repeats)
        merged["error_kinds"] = dict(sum((Counter(r["error_kinds"]) for r in repeats), Counter()))
        results.append(merged)
    return results


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0
    for process in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found += [child, *_children(child)]
    return found
