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
import os
import time

import aiohttp
from aiohttp import web

from bot.ratelimit import SenderLimits

log = logging.getLogger(__name__)

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


class Balancer:
    def __init__(
        self, backends: list[str], timeout: float = 30.0, limits: SenderLimits | None = None
    ):
        if not backends:
            raise ValueError("no backends to balance")
        self.limits = limits or SenderLimits(
            burst=int(os.environ.get("RATE_LIMIT_BURST", 10)),
            per_minute=float(os.environ.get("RATE_LIMIT_PER_MINUTE", 30)),
        )
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
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    payload = await answer.read()
                    reply_headers = {
                        k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                    }
                    return web.Response(status=answer.status, body=payload, headers=reply_headers)
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as error:
                self._down_until[index] = time.monotonic() + DOWN_FOR_SECONDS
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

    async def health(self, _request: web.Request) -> web.Response:
        now = time.monotonic()
        up = [b for b, until in zip(self.backends, self._down_until) if until <= now]
        return web.json_response({"backends": self.backends, "up": up}, status=200 if up else 503)

    async def close(self, _app: web.Application) -> None:
        if self._session:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/balancer/healthz", self.health)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self.close)
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BALANCER_PORT", 8000)))
    parser.add_argument(
        "backends",
        nargs="*",
        default=os.environ.get("RASA_BACKENDS", "http://127.0.0.1:5005").split(","),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    web.run_app(Balancer(args.backends).app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
