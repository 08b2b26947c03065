"""The Rasa server's operator endpoints, as an input channel because that is how Rasa
lets a project add routes: ``GET /webhooks/ops/healthz`` (the process answers),
``/webhooks/ops/readyz`` (model loaded, tracker store and lock store reachable; says
when the entity rules are older than the knowledge base) and
``/webhooks/ops/metrics`` (Prometheus, behind ``OPS_TOKEN``; bot/operations.py), and
``POST /webhooks/ops/dry-run`` (behind ``OPS_TOKEN``: who a message would be routed to
and why, for the operator console; bot/console/dry_run.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import lru_cache

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sqlalchemy.exc import SQLAlchemyError

from bot import operations, settings
from bot.console.dry_run import dry_run
from bot.knowledge import store
from nlu.channels import limits
from nlu.channels.webhook import json_body
from nlu.components import spacy_model
from nlu.pipeline import build

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


def _entity_rules_problem(loaded_meta: dict | None) -> str | None:
    """Blocking: reads the database (and, if the loaded pipeline is not found, the
    pipeline's meta.json in SPACY_PIPELINE_DIR, which the model loads on start)."""
    meta = loaded_meta
    if meta is None:
        meta = build.read_pipeline_meta(settings.get().spacy_pipeline_dir)
    return build.entity_rules_problem(build.pipeline_revision(meta), store.database_revision())


_reported: list[str | None] = [None]  # the last problem logged, so a probe logs a change once


async def entity_rules(agent) -> str | None:
    """Whether the entity rules this server uses come from the knowledge base in the
    database: None if so, else what an operator should read (``stale: built from
    revision X, database holds Y``, or ``unknown: ...``). The database is read in an
    executor, within the probe's time limit."""
    loop = asyncio.get_running_loop()
    meta = spacy_model.loaded_meta()
    try:
        problem = await asyncio.wait_for(
            loop.run_in_executor(None, _entity_rules_problem, meta), PROBE_SECONDS
        )
    except (SQLAlchemyError, asyncio.TimeoutError) as error:
        problem = (
            f"unknown: the knowledge base in the database is unreadable ({type(error).__name__})"
        )
    if problem and problem != _reported[0]:
        log.warning("readiness: entity rules %s", problem)
    _reported[0] = problem
    return problem


async def readiness(agent) -> tuple[int, dict]:
    """The readiness answer: HTTP status and JSON body.

    Entity rules older than the knowledge base leave the server ready (200) and add
    ``entity_rules`` to the answer. Answers still come from the database, which is
    current; only names added or renamed since the spaCy pipeline was built go
    unrecognised. Every instance loads the same pipeline and reads the same database,
    so a 503 would take all of them out of the load balancer at once after each
    ``make kb``: an outage for a degradation. The operator reads it here and in the log
    and rebuilds. A current server answers exactly ``{"status": "ready"}``."""
    problem = await not_ready(agent)
    if problem:
        return 503, {"status": "not ready", "problem": problem}
    body = {"status": "ready"}
    if rules := await entity_rules(agent):
        body["entity_rules"] = rules
    return 200, body


@lru_cache(maxsize=1)
def _knowledge() -> store.KnowledgeBase:
    return store.KnowledgeBase()


class OperationsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "ops"

    def blueprint(self, on_new_message) -> Blueprint:
        blueprint = limits.apply_to(Blueprint("operations", __name__))

        @blueprint.get("/healthz")
        async def health(_request):
            return response.json({"status": "ok"})

        @blueprint.get("/readyz")
        async def ready(request):
            status, body = await readiness(getattr(request.app.ctx, "agent", None))
            return response.json(body, status=status)

        @blueprint.get("/metrics")
        async def metrics(request):
            refused = operations.refusal(request.headers.get("Authorization"))
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            body, content_type = operations.metrics_exposition()
            return response.raw(body, content_type=content_type)

        @blueprint.post("/dry-run")
        async def routing_dry_run(request):
            refused = operations.refusal(request.headers.get("Authorization"))
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            body = json_body(request)
            if isinstance(body, response.HTTPResponse):
                return body
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                return response.json({"error": 'send {"text": "..."}'}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            parsed = await agent.parse_message(body["text"][: settings.MESSAGE_MAX_CHARS])
            facts = await asyncio.get_running_loop().run_in_executor(None, _knowledge().facts)
            return response.json(dataclasses.asdict(dry_run(parsed, facts)))

        return blueprint
