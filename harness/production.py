"""The production layout on this machine's PostgreSQL and Redis, as the production
tests and the scaling benchmark start it: a fresh tracker database, the environment
``endpoints.prod.yml`` reads, and the load balancer in front of Rasa servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml

from bot.settings import PROJECT_ROOT
from harness.servers import _stop, _wait_http, free_port, reachable

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)


def unavailable() -> str | None:
    """Why the production layout cannot run here, or None."""
    missing = [
        f"{name} on {host}:{port}"
        for name, (host, port) in (("PostgreSQL", PG), ("Redis", REDIS))
        if not reachable(host, port)
    ]
    if missing:
        return f"{' and '.join(missing)} not reachable (the layout needs both)"
    return None if shutil.which("psql") else "no psql to drop the tracker database afterwards"


def shared_endpoints() -> str:
    """endpoints.prod.yml as it is now, without the action endpoint (the caller's own)."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.prod.yml").read_text(encoding="utf-8"))
    endpoints.pop("action_endpoint", None)
    return yaml.safe_dump(endpoints, sort_keys=False)


@contextmanager
def tracker_database(purpose: str) -> Iterator[str]:
    """A fresh database name (the tracker store creates it), dropped afterwards."""
    name = f"hub_{purpose}_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        subprocess.run(
            ["psql", "-h", PG[0], "-U", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"'],
            capture_output=True,
            check=False,
        )


def production_env(database: str) -> dict[str, str]:
    """What endpoints.prod.yml reads, pointing at ``database`` and this machine's Redis;
    no RabbitMQ, so the work is the same on every machine."""
    return {
        "TRACKER_DB_HOST": PG[0],
        "TRACKER_DB_PORT": str(PG[1]),
        "TRACKER_DB_NAME": database,
        "TRACKER_DB_USER": "postgres",
        "TRACKER_DB_PASSWORD": "",
        "TRACKER_DB_LOGIN_DB": "postgres",
        "REDIS_HOST": REDIS[0],
        "REDIS_PORT": str(REDIS[1]),
        "REDIS_DB": "1",
        "REDIS_KEY_PREFIX": database,
        "EVENT_BROKER_URL": "",
    }


@contextmanager
def balancer(backends: list[str], log: Path, ops_token: str | None = None) -> Iterator[str]:
    """``python -m bot.balancer`` with production's rate limits, as make run-prod runs it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.balancer", "--port", str(port), *backends],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "OPS_TOKEN": ops_token or uuid.uuid4().hex,
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/balancer/healthz", process, 60, log)
        yield url
    finally:
        _stop(process)
