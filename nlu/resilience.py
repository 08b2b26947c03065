"""Rasa's calls to the action server survive a refused or reset connection.

Under load (200 conversations through two Rasa servers) the action server's listen
backlog overflows and some connections are reset before the request is written; Rasa
then logs the failed action and the visitor gets no answer. A request that could not
be delivered (connection refused, reset while writing) cannot have run, so it is sent
again, up to three times with a short backoff. A connection dropped after the request
was sent (``ServerDisconnectedError``) is not retried: the action may have run.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)

ATTEMPTS = 3
FIRST_WAIT_SECONDS = 0.05


def install() -> None:
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
