"""Log lines every process of the assistant writes the same way: one JSON object per
line in production (``LOG_FORMAT=json``), each naming the conversation it belongs to,
and never a secret, in either format.

The conversation id lives in a context variable that the Rasa server and the action
server set while they handle a message; tasks started meanwhile inherit it. Secrets
are the values of environment variables named like ``*_TOKEN``, ``*_SECRET``,
``*_PASSWORD`` or ``*_KEY``, and passwords in URLs (``scheme://user:password@host``).
Rasa and coloredlogs install their own handlers at start-up, so :func:`configure`
adopts whatever handlers the root and Sanic loggers have when it runs; it may run
again later to adopt handlers created since.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import datetime, timezone

from bot import settings

conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conversation_id", default=None
)

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|_KEY)$|AUTH", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@", re.IGNORECASE)
SHORTEST_SECRET = 6  # shorter values ("true", "5432") would redact ordinary words
REDACTED = "[redacted]"
OTHER_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    environ = settings.get().environ if environ is None else environ
    values = {
        value
        for name, value in environ.items()
        if SECRET_NAME.search(name) and len(value.strip()) >= SHORTEST_SECRET
    }
    return sorted(values, key=len, reverse=True)  # a secret containing another goes first


class Redactor:
    def __init__(self, secrets: list[str]):
        self._secrets = secrets

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", text)


class ContextFilter(logging.Filter):
    """Adds the conversation id and removes secrets from the message and traceback,
    before any formatter sees the record."""

    def __init__(self, redact: Redactor):
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation_id = getattr(record, "conversation_id", None) or conversation_id.get()
        record.msg, record.args = self._redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "conversation_id", None):
            line["conversation_id"] = record.conversation_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def start(service: str) -> None:
    """Logging for the project's own processes (balancer, dispatcher, web app)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    configure(service)


def configure(service: str, handlers: list[logging.Handler] | None = None) -> None:
    """Make the handlers (default: all of the root and Sanic loggers) redact secrets,
    know the conversation, and with ``LOG_FORMAT=json`` write JSON lines; Python
    warnings become log lines too. Idempotent."""
    logging.captureWarnings(True)
    if handlers is None:
        loggers = [logging.getLogger(), *(logging.getLogger(name) for name in OTHER_LOGGERS)]
        handlers = list({handler for logger in loggers for handler in logger.handlers})
    context = ContextFilter(Redactor(secret_values()))
    for handler in handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(context)
        if settings.get().log_format == "json" and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter(service))
