"""The Rasa server's operator endpoints, as an input channel because that is how Rasa
lets a project add routes: ``GET /webhooks/ops/healthz`` (the process answers),
``/webhooks/ops/readyz`` (model loaded, tracker store and lock store reachable) and
``/webhooks/ops/metrics`` (Prometheus, behind ``OPS_TOKEN``; bot/operations.py).
"""

from __future__ import annotations

import asyncio
import logging

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response

from bot import operations

log = logging.getLogger(__name__)

PROBE_CONVERSATION = "__readiness_probe__"
PROBE_SECONDS = 5.0


async def not_ready(agent) -> str | None:
    if agent is None or not agent.is_ready():
        return "no model loaded"
    # Rasa wraps the store in a fail-safe one that logs errors and answers None
    tracker_store = getattr(agent.tracker_store, "_tracker_store", agent.tracker_store)
    try:
        await asyncio.wait_for(tracker_store.retrieve(PROBE_CONVERSATION), PROBE_SECONDS)
    except Exception as error:
        log.warning("readiness: tracker store unreachable: %s", error)
        return f"tracker store unreachable ({type(error).__name__})"
    redis = getattr(agent.lock_store, "red", None)
    if redis is not None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, redis.ping)
        except Exception as error:
            log.warning("readiness: lock store unreachable: %s", error)
            return f"lock store unreachable ({type(error).__name__})"
    return None


class OperationsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "ops"

    def blueprint(self, on_new_message) -> Blueprint:
        blueprint = Blueprint("operations", __name__)

        @blueprint.get("/healthz")
        async def health(_request):
            return response.json({"status": "ok"})

        @blueprint.get("/readyz")
        async def ready(request):
            problem = await not_ready(getattr(request.app.ctx, "agent", None))
            if problem:
                return response.json({"status": "not ready", "problem": problem}, status=503)
            return response.json({"status": "ready"})

        @blueprint.get("/metrics")
        async def metrics(request):
            refused = operations.refusal(request.headers.get("Authorization"))
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            body, content_type = operations.metrics_exposition()
            return response.raw(body, content_type=content_type)

        return blueprint
