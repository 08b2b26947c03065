"""A small HTTP load balancer in front of several Rasa servers (``make run-prod``).

It is also where the public REST channel is guarded: bodies over 64 kB get 413, and
each sender may send a burst of ``RATE_LIMIT_BURST`` messages, then
``RATE_LIMIT_PER_MINUTE``; more get 429 with ``Retry-After``, others are unaffected.

Round robin over the Rasa servers; a server that refuses the connection or times out
is skipped for the request and marked down for a few seconds, so a killed instance
costs no visitor an error while the others serve the same conversations (they share
the tracker store and the lock store). It forwards HTTP only (REST channel,
messenger webhooks, Rasa's HTTP API); the widget's socket.io connects to a Rasa
server directly or through a websocket-capable proxy such as nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import time
from dataclasses import asdict

import aiohttp
from aiohttp import web
from prometheus_client import Counter, Histogram

from bot import logs, operations, settings
from bot.ratelimit import SenderLimits

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
}
DOWN_FOR_SECONDS = 5.0
MAX_BODY_BYTES = 64 * 1024
REST_WEBHOOK = "/webhooks/rest/webhook"


def route_of(path: str) -> str:
    """A bounded label for a request path: the channel, or Rasa's HTTP API."""
    if path.startswith("/webhooks/"):
        return path.split("/")[2] or "webhooks"
    return "api"


class Balancer:
    def __init__(
        self, backends: list[str], timeout: float = 30.0, limits: SenderLimits | None = None
    ):
        if not backends:
            raise ValueError("no backends to balance")
        self.limits = limits or SenderLimits(**asdict(settings.get().rate_limit))
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
        response = await self._forward(request)
        REQUESTS.labels(route_of(request.path), str(response.status)).inc()
        return response

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        body = await request.read()
        if request.path == REST_WEBHOOK:
            refusal = self._limited(body)  # a Response is a mapping: empty, hence falsy
            if refusal is not None:
                return refusal
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        for index in self._order():
            url = f"{self.backends[index]}{request.rel_url}"
            started = time.perf_counter()
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    payload = await answer.read()
                    UPSTREAM_SECONDS.labels(route_of(request.path)).observe(
                        time.perf_counter() - started
                    )
                    reply_headers = {
                        k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                    }
                    return web.Response(status=answer.status, body=payload, headers=reply_headers)
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as error:
                self._down_until[index] = time.monotonic() + DOWN_FOR_SECONDS
                BACKEND_FAILURES.labels(self.backends[index]).inc()
                log.warning("backend %s failed (%s); trying the next", self.backends[index], error)
        return web.json_response({"error": "no Rasa server is reachable"}, status=503)

    def _limited(self, body: bytes) -> web.Response | None:
        try:
            sender = str(json.loads(body).get("sender") or "default")
        except (ValueError, AttributeError):
            return None  # Rasa answers malformed bodies itself
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
        app = web.Application(client_max_size=MAX_BODY_BYTES)
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
