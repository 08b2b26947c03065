"""What the messenger webhooks share: refusals before reading, the body-size cap and
one lock per chat, so that a chat's messages are handled in the order they came."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings


def refusal(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def json_body(request: Request) -> Any:
    """The parsed body, or a refusal for an oversized or malformed one."""
    if len(request.body or b"") > settings.MESSENGER_MAX_BODY_BYTES:
        return refusal(413, "body too large")
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return refusal(400, "body is not JSON")


class ChatOrder:
    """One lock per chat, so a chat's messages are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def of(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock
