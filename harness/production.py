"""The production layout on this machine's PostgreSQL and Redis, as the production
tests and the scaling benchmark start it: a fresh tracker database, the environment
``endpoints.prod.yml`` reads, and nginx, the front door, before Rasa servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import yaml

from bot.frontdoor import HEALTH_PATH, nginx
from bot.settings import PROJECT_ROOT
from harness.servers import (
    Assistant,
    _start,
    _stop,
    _wait_http,
    free_port,
    reachable,
    running_assistant,
)

PG = ("127.0.0.1", 5432)
# a conversation whose Rasa server died holding its lock waits this long (Rasa: 60 s,
# as long as the front door waits for an answer); make run-prod sets the same
LOCK_LIFETIME_SECONDS = "20"
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
    if not shutil.which("psql"):
        return "no psql to drop the tracker database afterwards"
    try:
        nginx()
    except FileNotFoundError as missing:
        return str(missing)
    return None


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
        "TICKET_LOCK_LIFETIME": LOCK_LIFETIME_SECONDS,
    }


@contextmanager
def front_door(
    rasa_urls: list[str],
    log: Path,
    web_url: str | None = None,
    port: int | None = None,
    **limits: str,
) -> Iterator[str]:
    """nginx from deploy/nginx.conf before ``rasa_urls`` (and ``web_url``), with
    production's limits unless ``limits`` (environment variables) say otherwise, as
    make run-prod starts it."""
    port = port or free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    web = urlsplit(web_url or f"http://127.0.0.1:{free_port()}")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "frontdoor", "--prefix", str(log.parent / "nginx")],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "FRONT_DOOR_PORT": str(port),
            "RASA_SERVERS": ",".join(urlsplit(url).netloc for url in rasa_urls),
            "WEB_HOST": web.hostname or "127.0.0.1",
            "WEB_PORT": str(web.port),
            **limits,
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}{HEALTH_PATH}", process, 30, log)
        yield url
    finally:
        _stop(process)


@contextmanager
def web_app(env: dict[str, str], log: Path, public_url: str) -> Iterator[str]:
    """The web app (demo page and widget) for a widget that talks to ``public_url``."""
    port = free_port()
    env = {**env, "WEB_PORT": str(port), "RASA_PUBLIC_URL": public_url}
    process = _start([sys.executable, "-m", "bot.web.app"], log, env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/healthz", process, 60, log)
        yield url
    finally:
        _stop(process)


@dataclass
class Layout:
    servers: tuple[Assistant, Assistant]
    door: str  # where visitors come in: REST, webhooks, socket.io, the demo page
    web: str


@contextmanager
def one_server(workdir: Path, purpose: str, **options) -> Iterator[Assistant]:
    """One Rasa server on endpoints.prod.yml's stores: a fresh tracker database named for
    ``purpose`` (dropped afterwards) and this machine's Redis; no front door."""
    with (
        tracker_database(purpose) as database,
        running_assistant(
            workdir,
            extra_env=production_env(database),
            endpoints_extra=shared_endpoints(),
            **options,
        ) as assistant,
    ):
        yield assistant


@contextmanager
def two_servers_behind_the_door(
    workdir: Path, database: str, extra_env: dict[str, str] | None = None, **options
) -> Iterator[Layout]:
    """make run-prod's layout: two Rasa servers on one tracker store and lock store, the
    web app, and nginx before them all."""
    door_port = free_port()
    door_url = f"http://127.0.0.1:{door_port}"
    env = {**production_env(database), "CORS_ORIGINS": door_url, **(extra_env or {})}
    with running_assistant(
        workdir, extra_env=env, endpoints_extra=shared_endpoints(), **options
    ) as first:
        second = first.another_instance()
        with (
            web_app(first.env, workdir / "web.log", door_url) as web,
            front_door([first.url, second.url], workdir / "door" / "nginx.log", web, door_port),
        ):
            yield Layout((first, second), door_url, web)
