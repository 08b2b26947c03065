"""Log lines as operators read them: JSON with the conversation id, secrets hidden."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot import logs


@pytest.fixture
def json_log(monkeypatch):
    """A logger writing through a handler that :func:`logs.configure` adopted."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", "123456:AAH-secret-bot-token")
    monkeypatch.setenv("RASA_AUTH_TOKEN", "rasa-api-token-42")
    monkeypatch.setenv("SMTP_PASSWORD", "mail-pass-99")
    monkeypatch.setenv("RASA_PORT", "5005")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    logs.configure("test", [handler])
    logger = logging.getLogger("test.logs")
    logger.setLevel(logging.INFO)
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_lines_are_json_and_name_the_conversation_of_their_task(json_log):
    logger, lines = json_log

    async def handle(conversation: str) -> None:
        logs.conversation_id.set(conversation)
        await asyncio.sleep(0.01)
        logger.info("answered")

    async def both() -> None:
        await asyncio.gather(handle("visitor-a"), handle("visitor-b"))

    asyncio.run(both())
    logger.info("between conversations")
    first, second, third = lines()
    assert {first["conversation_id"], second["conversation_id"]} == {"visitor-a", "visitor-b"}
    assert "conversation_id" not in third
    assert first["message"] == "answered" and first["level"] == "INFO"
    assert first["service"] == "test" and first["logger"] == "test.logs"


def test_secrets_from_the_environment_and_urls_are_hidden(json_log):
    logger, lines = json_log
    logger.warning(
        "POST https://api.telegram.org/bot%s/sendMessage failed", "123456:AAH-secret-bot-token"
    )
    logger.info("tracker at postgresql://hub:db-password-7@db.example.org/hub_tracker")
    logger.info("events to amqp://guest:guest@127.0.0.1:5672/")
    try:
        raise ConnectionError("auth failed with mail-pass-99")
    except ConnectionError:
        logger.exception("SMTP login failed on port 5005")
    text = json.dumps(lines())
    for secret in ("AAH-secret-bot-token", "db-password-7", "guest:guest", "mail-pass-99"):
        assert secret not in text
    assert "bot[redacted]/sendMessage" in text
    assert "postgresql://hub:[redacted]@db.example.org" in text
    assert "port 5005" in text  # short values of unrelated variables stay


def test_text_format_hides_secrets_too(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("OPS_TOKEN", "operator-token-123")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        logs.configure("test", [handler])
        logging.getLogger("test.text").error("token operator-token-123 refused")
    finally:
        logging.getLogger().removeHandler(handler)
    assert stream.getvalue() == "token [redacted] refused\n"
