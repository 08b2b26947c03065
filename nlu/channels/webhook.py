"""What the webhooks share: the one checked way to read a JSON body, refusals, Meta's
verification handshake, and one lock per chat, so that a chat's messages are handled
in the order they came.

Every channel that reads JSON (REST, Telegram, Messenger) reads it through
:func:`json_body`, so a body one channel refuses is refused by all of them, and no
body, however made, ends in a 500: too large gets 413, anything else unreadable 400.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import weakref
from typing import Any, Callable, TypeVar

from sanic import response
from sanic.response import HTTPResponse

from bot import settings
from bot.messengers.updates import UnknownUpdate

Read = TypeVar("Read")

MAX_JSON_DEPTH = 32  # a Telegram update or a Messenger call nests about 10 deep

# A JSON string, escapes included; one not closed runs to the end, so that every match
# succeeds at its first try (a regex that could fail would rescan: quadratic time).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def refusal(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit``, counted before parsing:
    the parser recurses once per level, and a 60 kB ``[[[…]]]`` would exhaust the
    stack. Brackets inside strings do not count, just as the parser reads them."""
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's json reads them


def _finite(number: str) -> float:
    value = float(number)
    if value in (float("inf"), float("-inf")):  # 1e400 would be read as Infinity
        raise ValueError(f"{number} is too large")
    return value


def json_body(request: Any, max_bytes: int = settings.REQUEST_MAX_BYTES) -> Any:
    """The body of ``request`` (anything with ``.body``) as JSON, or the refusal to
    answer: 413 over ``max_bytes``, 400 for what is not UTF-8, not JSON, nested deeper
    than :data:`MAX_JSON_DEPTH`, or holds text that is not Unicode (a lone surrogate
    escape, which would fail later wherever the text is encoded)."""
    body = request.body or b""
    if len(body) > max_bytes:
        return refusal(413, "body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return refusal(400, "body is not UTF-8")
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        return refusal(400, f"body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return refusal(400, "body holds text that is not Unicode")
    except (ValueError, RecursionError):
        return refusal(400, "body is not JSON")
    return value


def read_call(request: Any, refused: HTTPResponse | None, read: Callable[[Any], Read]):
    """What a webhook call holds, as ``read`` makes it of the JSON body, or the refusal
    to answer: the channel's own (``refused``: not enabled, not signed), then
    :func:`json_body`'s, then 400 for what ``read`` finds is no update of its kind."""
    if refused is not None:
        return refused
    payload = json_body(request)
    if isinstance(payload, HTTPResponse):
        return payload
    try:
        return read(payload)
    except UnknownUpdate as error:
        return refusal(400, str(error))


def verification(request: Any, verify_token: str | None) -> HTTPResponse:
    """Meta's webhook handshake: ``hub.challenge`` echoed when ``hub.verify_token`` is
    ours (compared in constant time); 403 otherwise, or while not configured."""
    token = (request.args.get("hub.verify_token") or "").encode()
    if verify_token and hmac.compare_digest(token, verify_token.encode()):
        return response.text(request.args.get("hub.challenge") or "")
    return refusal(403, "wrong verify token")


class ChatOrder:
    """One lock per chat, so a chat's messages are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def of(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock
