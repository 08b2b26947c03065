"""What one request may cost a Rasa server, set on the server itself whatever stands in
front of it: Sanic's own default lets a request be 100 MB, and a 10 MB message once
made a server unresponsive for over half an hour.

Every channel of the project applies this to the server it is registered on (one
listener per channel, all setting the same value), so a Rasa server started with any
of them refuses a request over ``REQUEST_MAX_BYTES`` with 413 as soon as its
``Content-Length`` (or, chunked, its first bytes beyond the limit) arrives.
"""

from __future__ import annotations

from sanic import Blueprint

from bot import settings


def apply_to(blueprint: Blueprint) -> Blueprint:
    @blueprint.listener("before_server_start")
    async def limit_requests(app, _loop) -> None:
        app.config.REQUEST_MAX_SIZE = settings.REQUEST_MAX_BYTES

    return blueprint
