"""What operators reach on every process: liveness and readiness for the front door
or systemd, open to all (they say up or down, nothing more), and Prometheus metrics,
only with ``Authorization: Bearer $OPS_TOKEN``: metrics tell how many conversations
and enquiries there are, which is the hub's business, not the public's.

Web-framework neutral, so the aiohttp processes (dispatcher, web app) and the Rasa
server (Sanic) answer alike.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot import settings, tokens


def refusal(authorization: str | None) -> tuple[int, str] | None:
    """None when the caller may read operator endpoints, else (status, reason)."""
    token = settings.get().ops_token
    if token is None:
        return 403, "operator endpoints are disabled: set OPS_TOKEN"
    if tokens.presented(authorization) is None:
        return 401, "an operator token is needed (Authorization: Bearer ...)"
    if not tokens.matches(authorization, token):
        return 403, "wrong operator token"
    return None


def metrics_exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def aiohttp_routes(app, ready, prefix: str = "") -> None:
    """``/healthz``, ``/readyz`` (``await ready()`` names what is not ready, or None)
    and ``/metrics`` on an aiohttp application, under ``prefix``."""
    from aiohttp import web

    async def health(_request):
        return web.json_response({"status": "ok"})

    async def readiness(_request):
        problem = await ready()
        if problem:
            return web.json_response({"status": "not ready", "problem": problem}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics(request):
        refused = refusal(request.headers.get("Authorization"))
        if refused:
            return web.json_response({"error": refused[1]}, status=refused[0])
        body, content_type = metrics_exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get(f"{prefix}/healthz", health)
    app.router.add_get(f"{prefix}/readyz", readiness)
    app.router.add_get(f"{prefix}/metrics", metrics)
