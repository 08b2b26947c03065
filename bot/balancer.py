"""A small HTTP load balancer in front of several Rasa servers (``make run-prod``).

It is also where the public REST channel is guarded: bodies over 64 kB get 413; each
client address may send a burst of ``RATE_LIMIT_CLIENT_BURST`` messages, then
``RATE_LIMIT_CLIENT_PER_MINUTE``, and each sender ``RATE_LIMIT_BURST``, then
``RATE_LIMIT_PER_MINUTE``; more get 429 with ``Retry-After``, others are unaffected.
Every REST message it forwards is counted, whatever its path's spelling and whether or
not its body parses. The client address is the peer's (or, from ``TRUSTED_PROXIES``,
the one they forward), and it is passed on in ``X-Forwarded-For``, which the Rasa
servers believe from the balancer's loopback address (bot/ratelimit.py).

Round robin over the Rasa servers; a server that refuses the connection or does not
accept it in time is skipped for the request and marked down for a few seconds, so a
killed instance costs no visitor an error while the others serve the same
conversations (they share the tracker store and the lock store). A message that
reached a server is never sent to a second one (it could be answered twice): if that
server drops the connection or does not answer in time, the visitor gets 502 or 504,
as nginx's ``proxy_next_upstream`` does for a POST. It forwards HTTP only (REST channel,
messenger webhooks, Rasa's HTTP API); the widget's socket.io connects to a Rasa
server directly or through a websocket-capable proxy such as nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import posixpath
import re
import time
from dataclasses import asdict
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from prometheus_client import Counter, Histogram

from bot import logs, operations, settings
from bot.conversations import CHANNELS
from bot.ratelimit import ClientLimits, SenderLimits, client_address, forwarded_for, networks

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "hub_balancer_requests_total", "Requests through the balancer", ["route", "status"]
)
UPSTREAM_SECONDS = Histogram(
    "hub_balancer_upstream_seconds",
    "Time a Rasa server took to answer, by route",
    ["route"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
BACKEND_FAILURES = Counter(
    "hub_balancer_backend_failures_total",
    "Requests a Rasa server refused or timed out",
    ["backend"],
)

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "x-forwarded-for",  # replaced by what the balancer vouches for
}
DOWN_FOR_SECONDS = 5.0
OTHER = "other"
# (label, template): what the Rasa servers answer; "{name}" is any one path segment.
# Labels from a fixed set, as each is a series kept for ever (300 random paths made 303).
ROUTES = (
    *((channel, f"/webhooks/{channel}") for channel in CHANNELS),
    *((channel, f"/webhooks/{channel}/webhook") for channel in CHANNELS),
    ("socketio", "/socket.io"),
    ("ops", "/webhooks/ops/{check}"),
    ("api", "/"),
    ("api", "/version"),
    ("api", "/status"),
    ("api", "/domain"),
    ("api", "/model"),
    ("api", "/model/{action}"),
    ("api", "/model/test/{kind}"),
    ("api", "/conversations/{conversation}/{part}"),
    ("api", "/conversations/{conversation}/tracker/events"),
)
REST_PREFIX = "/webhooks/rest/"


def normalised(path: str) -> str:
    """The path as the Rasa server routes it: no empty or "." segments, no trailing slash."""
    return posixpath.normpath(re.sub("/+", "/", "/" + path)).rstrip("/") or "/"


def _matches(path: str, template: str) -> bool:
    parts, wanted = path.split("/"), template.split("/")
    return len(parts) == len(wanted) and all(
        w == p or (w.startswith("{") and p != "") for p, w in zip(parts, wanted, strict=True)
    )


def route_of(path: str) -> str:
    """A label for a request path from :data:`ROUTES`, or "other"."""
    path = normalised(path)
    return next((label for label, template in ROUTES if _matches(path, template)), OTHER)


def is_rest_message(request: web.Request) -> bool:
    """Every path the REST channel could answer a POST on (Sanic accepts a trailing
    slash, for one): counting more than the webhook costs nothing, less is a way round."""
    if request.method != "POST":
        return False
    spellings = (request.path, unquote(request.raw_path.partition("?")[0]))
    return any((normalised(path).lower() + "/").startswith(REST_PREFIX) for path in spellings)


def sender_of(body: bytes) -> str | None:
    """The ``sender`` of a REST body, parsed as leniently as Rasa's ujson (a raw TAB in a
    string is accepted); None if there is none."""
    try:
        message = json.loads(body, strict=False)
    except (ValueError, RecursionError):
        return None
    sender = message.get("sender") if isinstance(message, dict) else None
    return None if sender is None else str(sender)


IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


def never_reached(error: Exception) -> bool:
    """Whether the request cannot have reached the server: it refused the connection or
    did not accept it in time (aiohttp's connect timeout), so another may take it."""
    return isinstance(error, aiohttp.ClientConnectorError) or (
        isinstance(error, aiohttp.ServerTimeoutError)
        and str(error).startswith("Connection timeout")
    )


class Balancer:
    def __init__(
        self,
        backends: list[str],
        timeout: float = 60.0,  # nginx's proxy_read_timeout
        limits: SenderLimits | None = None,
        client_limits: ClientLimits | None = None,
    ):
        if not backends:
            raise ValueError("no backends to balance")
        current = settings.get()
        self.limits = limits or SenderLimits(**asdict(current.rate_limit))
        self.client_limits = client_limits or ClientLimits(**asdict(current.client_rate_limit))
        self.trusted = networks(current.trusted_proxies)
        self.backends = [b.rstrip("/") for b in backends]
        self._turn = itertools.cycle(range(len(self.backends)))
        self._down_until = [0.0] * len(self.backends)
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=2)
        self._session: aiohttp.ClientSession | None = None

    def _order(self) -> list[int]:
        """Backends to try for one request: the next in turn first, those marked down last."""
        first = next(self._turn)
        order = [(first + i) % len(self.backends) for i in range(len(self.backends))]
        now = time.monotonic()
        return sorted(order, key=lambda i: self._down_until[i] > now)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = route_of(request.path)
        response = await self._forward(request, route)
        REQUESTS.labels(route, str(response.status)).inc()
        return response

    async def _forward(self, request: web.Request, route: str) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        body = await request.read()
        incoming = request.headers.getall("X-Forwarded-For", [])
        if is_rest_message(request):
            client = client_address(request.remote, incoming, self.trusted)
            refusal = self._limited(client, body)  # a Response is a mapping: empty, hence falsy
            if refusal is not None:
                return refusal
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = forwarded_for(request.remote, incoming, self.trusted)
        for index in self._order():
            url = f"{self.backends[index]}{request.rel_url}"
            started = time.perf_counter()
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    payload = await answer.read()
                    UPSTREAM_SECONDS.labels(route).observe(time.perf_counter() - started)
                    reply_headers = {
                        k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                    }
                    return web.Response(status=answer.status, body=payload, headers=reply_headers)
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as error:
                BACKEND_FAILURES.labels(self.backends[index]).inc()
                timed_out = isinstance(error, asyncio.TimeoutError)
                if not timed_out or never_reached(error):
                    self._down_until[index] = time.monotonic() + DOWN_FOR_SECONDS
                if not (never_reached(error) or request.method in IDEMPOTENT):
                    log.warning(
                        "backend %s failed (%s) on a %s",
                        self.backends[index],
                        error,
                        request.method,
                    )
                    return web.json_response(
                        {"error": "the Rasa server did not answer; please send it again"},
                        status=504 if timed_out else 502,
                    )
                log.warning("backend %s failed (%s); trying the next", self.backends[index], error)
        return web.json_response({"error": "no Rasa server is reachable"}, status=503)

    def _limited(self, client: str, body: bytes) -> web.Response | None:
        """Count the message for its client address, always, and for its sender if the
        body names one (Rasa answers a malformed body itself, counted all the same)."""
        wait = self.client_limits.allow(client)
        sender = None if wait else sender_of(body)
        if sender is not None:
            wait = self.limits.allow(sender)
        if wait:
            return web.json_response(
                {"error": "too many messages; please wait a moment"},
                status=429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return None

    async def not_ready(self) -> str | None:
        now = time.monotonic()
        if all(until > now for until in self._down_until):
            return "no Rasa server is up"
        return None

    async def close(self, _app: web.Application) -> None:
        if self._session:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=settings.REQUEST_MAX_BYTES)
        operations.aiohttp_routes(app, self.not_ready, prefix="/balancer")
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self.close)
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    current = settings.get()
    parser.add_argument("--port", type=int, default=current.balancer_port)
    parser.add_argument("backends", nargs="*", default=list(current.rasa_backends))
    args = parser.parse_args(argv)
    logs.start("balancer")
    web.run_app(
        Balancer(args.backends).app(), host=current.balancer_host, port=args.port, print=None
    )


if __name__ == "__main__":
    main()
