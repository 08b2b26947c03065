"""Rasa's calls to the action server survive a refused or reset connection, and a
visitor whose question needs the action server while it is down gets an apology and
the two contact persons instead of silence.

Under load (200 conversations through two Rasa servers) the action server's listen
backlog overflows and some connections are reset before the request is written; Rasa
then logs the failed action and the visitor gets no answer. A request that could not
be delivered (connection refused, reset while writing) cannot have run, so it is sent
again, up to three times with a short backoff. A connection dropped after the request
was sent (``ServerDisconnectedError``) is not retried: the action may have run.

When the action server cannot be reached at all, the action's answer becomes the
domain's ``utter_action_server_down`` and ``utter_contacts_both`` (in the
conversation's language), filled from ``data/knowledge_base.yml`` read by the Rasa
server itself, since the database may be what is down; a conversation still starts
as Rasa's own ``action_session_start`` starts it.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

import aiohttp
from prometheus_client import Counter

log = logging.getLogger(__name__)

ACTION_SERVER_DOWN = Counter(
    "hub_action_server_down_answers_total",
    "Answers given without the action server (apology and both contacts)",
)

ATTEMPTS = 3
FIRST_WAIT_SECONDS = 0.05


def install() -> None:
    _retry_undelivered_requests()
    _answer_when_the_action_server_is_down()


@lru_cache(maxsize=1)
def _facts_from_file():
    from bot.knowledge import document

    return document.read()


def _answer_when_the_action_server_is_down() -> None:
    from rasa.core.actions.action import ActionSessionStart, RemoteAction, create_bot_utterance
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run
    if getattr(original, "answers_when_down", False):
        return

    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except RasaException as error:
            if not isinstance(error.__context__, aiohttp.ClientConnectionError):
                raise
            if self.name() == ActionSessionStart().name():  # Rasa's own start, no apology
                return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
            ACTION_SERVER_DOWN.inc()
            facts = _facts_from_file().in_language(tracker.get_slot("language"))
            events = []
            for response, values in (
                ("utter_action_server_down", {}),
                ("utter_contacts_both", facts.contacts_by_hub()),
            ):
                message = await nlg.generate(response, tracker, output_channel.name(), **values)
                if message:
                    events.append(create_bot_utterance(message))
            return events

    run.answers_when_down = True
    RemoteAction.run = run


def _retry_undelivered_requests() -> None:
    from rasa.utils.endpoints import EndpointConfig

    original = EndpointConfig.request
    if getattr(original, "retries_undelivered", False):
        return

    async def request(self, *args, **kwargs):
        for attempt in range(ATTEMPTS):
            try:
                return await original(self, *args, **kwargs)
            except aiohttp.ClientOSError as error:  # refused, or reset while writing
                if attempt == ATTEMPTS - 1:
                    raise
                log.warning("request to %s not delivered (%s); sending it again", self.url, error)
                await asyncio.sleep(FIRST_WAIT_SECONDS * 2**attempt)

    request.retries_undelivered = True
    EndpointConfig.request = request
