"""Limits per client address on every Rasa server by itself, with no proxy in front
assumed: rotating sender ids steps around the limits per conversation (600 messages
in 12 s from one client, none limited, slowed every other visitor's answers 20-fold).

- REST (nlu/channels/rest.py): a request middleware on the channel's blueprint, first
  of its middlewares, answers a client over its limit with 429 and ``Retry-After``
  before the body is read as JSON or NLU runs.
- socket.io (nlu/channels/socketio.py): the socket's address, at connect (refused) and
  per message (not read; the visitor is asked to slow down in their language, by
  ``sender_limits_and_answer_times`` in nlu/server/patches.py, see :func:`over_limit`).
- Not the messenger webhooks (Telegram, Messenger): every update comes from Telegram's
  or Meta's servers, so one address carries all of their visitors; those are limited
  per conversation only, and the webhooks are signed.

REST and socket.io share one bucket per address (``RATE_LIMIT_CLIENT_BURST``,
``RATE_LIMIT_CLIENT_PER_MINUTE``), in Redis for all Rasa servers when it is configured
(bot/shared_limits.py); the address is the peer's, or what a proxy in
``TRUSTED_PROXIES`` forwards (bot/ratelimit.py). Addresses are not logged: they are
personal data.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict
from functools import lru_cache
from typing import Iterator, Mapping

from sanic import response
from sanic.request import Request

from bot import settings, shared_limits
from bot.ratelimit import ClientLimits, Network, bucket_of, client_address, networks
from nlu.server.metrics import CLIENT_LIMITED

log = logging.getLogger(__name__)

_over_limit: ContextVar[float] = ContextVar("client_over_limit_for", default=0.0)
_slowed_down: ContextVar[list[float] | None] = ContextVar("slowed_down", default=None)


@lru_cache(maxsize=1)
def limits() -> shared_limits.Buckets:
    limit = settings.get().client_rate_limit
    return shared_limits.buckets("client", limit, ClientLimits(**asdict(limit)), bucket_of)


@lru_cache(maxsize=1)
def trusted() -> tuple[Network, ...]:
    return networks(settings.get().trusted_proxies)


def reset() -> None:
    """Read the settings again (for tests that change them)."""
    limits.cache_clear()
    trusted.cache_clear()


def address_of(request: Request) -> str:
    return client_address(request.ip, request.headers.getall("x-forwarded-for", []), trusted())


def address_of_socket(environ: Mapping) -> str:
    """engine.io's Sanic driver writes ``REMOTE_ADDR: 127.0.0.1`` for every socket, so
    the address is read from the Sanic request the environ carries."""
    request = environ.get("sanic.request")
    if request is not None:
        return address_of(request)
    return client_address(
        environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), trusted()
    )


async def refused(address: str, channel: str) -> float:
    """0 if the client may go on (and counts it), else the seconds it should wait."""
    wait = await limits().allow(address)
    if wait:
        CLIENT_LIMITED.labels(channel).inc()
        log.warning("a %s client is over its address's limit for %.0f s more", channel, wait)
    return wait


def guard(blueprint, channel: str) -> None:
    """Refuse a client over its limit on ``blueprint``'s POSTs (its messages), with 429.
    Call it before the blueprint's other request middlewares, so it runs first."""

    @blueprint.middleware("request")
    async def refuse_a_client_over_its_limit(request: Request):
        if request.method != "POST":
            return None
        wait = await refused(address_of(request), channel)
        return too_many(wait, "requests from your address") if wait else None


@contextmanager
def over_limit(wait: float) -> Iterator[None]:
    """Around a channel's ``on_new_message``: this message's client is over its limit
    for ``wait`` seconds (0: it is not), for the patch that answers or reads it."""
    token = _over_limit.set(wait)
    try:
        yield
    finally:
        _over_limit.reset(token)


def over_limit_for() -> float:
    return _over_limit.get()


def note_slow_downs() -> list[float]:
    """For the request being handled: the waits of the messages it carried that were
    not read because their sender or client was over a limit (the REST channel answers
    those with 429). Sanic handles each request in a task of its own."""
    waits: list[float] = []
    _slowed_down.set(waits)
    return waits


def slowed_down(wait: float) -> None:
    waits = _slowed_down.get()
    if waits is not None:
        waits.append(wait)


def too_many(wait: float, what: str) -> response.HTTPResponse:
    return response.json(
        {"error": f"too many {what}; please wait"},
        status=429,
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )
