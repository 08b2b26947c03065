"""Log lines every process of the assistant writes the same way: one JSON object per
line in production (``LOG_FORMAT=json``), each naming the conversation it belongs to,
and never a secret or a visitor's personal data, in either format.

The conversation id lives in a context variable that the Rasa server and the action
server set while they handle a message; tasks started meanwhile inherit it. Secrets
are the values of environment variables named like ``*_TOKEN``, ``*_SECRET``,
``*_PASSWORD`` or ``*_KEY``, and passwords in URLs (``scheme://user:password@host``).
Personal data is what visitors write (names, e-mail addresses, enquiries). The
project's own log lines name conversations, actions and error types, never values;
what libraries put into exception texts is withheld here: the body of an HTTP answer
Rasa quotes when an action fails (the SDK's error answer echoes the whole tracker;
only its ``action_name`` and an ``error`` that is a type name stay), the bound
parameters SQLAlchemy appends to a failed statement, and, as a safety net, anything
shaped like an e-mail address (Message-IDs excepted).
Rasa and coloredlogs install their own handlers at start-up, so :func:`configure`
adopts whatever handlers the root and Sanic loggers have when it runs; it may run
again later to adopt handlers created since.
"""

from __future__ import annotations

import ast
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

# Rasa's ClientResponseError: "500, Internal Server Error, body='b'{...}''" (a bytes repr)
RESPONSE_BODY = re.compile(
    r"""body='(?P<body>b'(?:[^'\\\n]|\\.)*'|b"(?:[^"\\\n]|\\.)*"|[^'\n]*)'"""
)
KEPT_BODY_FIELDS = ("action_name", "error")  # when they are names, not texts
NAME = re.compile(r"[A-Za-z_][\w.]{0,99}")
SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)  # SQLAlchemy's error text
EMAIL_ADDRESS = re.compile(r"(?<![\w.+/-])(?P<local>[\w.+-]+)@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
MESSAGE_ID_LOCAL_PART = re.compile(r"\d+\.\d+\.\d+\.")  # how email.utils.make_msgid starts
WITHHELD = "[withheld]"
EMAIL_WITHHELD = "[e-mail address]"


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    environ = settings.get().environ if environ is None else environ
    values = {
        value
        for name, value in environ.items()
        if SECRET_NAME.search(name) and len(value.strip()) >= SHORTEST_SECRET
    }
    return sorted(values, key=len, reverse=True)  # a secret containing another goes first


def _kept_body_fields(body: str) -> tuple[dict[str, str], bool]:
    """The fields of an error answer that are names, and whether anything else was there."""
    try:
        data = json.loads(ast.literal_eval(body) if body[:2] in ("b'", 'b"') else body)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {}, bool(body)
    if not isinstance(data, dict):
        return {}, bool(data)
    kept = {
        key: data[key]
        for key in KEPT_BODY_FIELDS
        if isinstance(data.get(key), str) and NAME.fullmatch(data[key])
    }
    return kept, len(kept) < len(data)


def _withheld_body(match: re.Match) -> str:
    kept, withheld = _kept_body_fields(match["body"])
    if not kept:
        return f"body={WITHHELD}" if withheld else match[0]
    return f"body={json.dumps(kept)}" + (f" (the rest {WITHHELD})" if withheld else "")


def _withheld_address(match: re.Match) -> str:
    if MESSAGE_ID_LOCAL_PART.match(match["local"]):
        return match[0]  # a Message-ID names a mail, not a person
    return EMAIL_WITHHELD


def withhold_personal_data(text: str) -> str:
    """``text`` without the answer bodies, SQL parameters and e-mail addresses that
    libraries put into log lines and exception texts."""
    if "body='" in text:
        text = RESPONSE_BODY.sub(_withheld_body, text)
    if "[parameters: " in text:
        text = SQL_PARAMETERS.sub(f"[parameters: {WITHHELD}]", text)
    if "@" in text:
        text = EMAIL_ADDRESS.sub(_withheld_address, text)
    return text


class Redactor:
    """Removes secrets and personal data from a log line or traceback."""

    def __init__(self, secrets: list[str]):
        self._secrets = secrets

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", text)
        return withhold_personal_data(text)


class ContextFilter(logging.Filter):
    """Adds the conversation id and removes secrets and personal data from the message
    and traceback, before any formatter sees the record."""

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
    """Logging for the project's own processes (dispatcher, web app)."""
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
