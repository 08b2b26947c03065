"""Signed-in browsers. The cookie holds a random token and its HMAC (``SESSION_SECRET``);
the database holds the token's SHA-256, the operator and a CSRF token, so a stolen
database gives no usable cookie and signing out ends the session everywhere."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from bot import settings
from bot.console.models import ConsoleSessionRow, OperatorRow

LIFETIME = timedelta(hours=8)  # a working day; then sign in again


@dataclass(frozen=True)
class ConsoleSession:
    operator: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signature(token: str) -> str:
    key = settings.get().session_secret.encode()
    return hmac.new(key, b"console:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def _token(cookie: str | None) -> str | None:
    token, _, signature = (cookie or "").partition(".")
    if not token or not hmac.compare_digest(signature.encode(), _signature(token).encode()):
        return None
    return token


def start(factory: sessionmaker, operator: OperatorRow) -> str:
    """A new session of ``operator``; the cookie value for it."""
    token = secrets.token_urlsafe(32)
    now = datetime.utcnow()
    with factory() as session, session.begin():
        session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at < now))
        session.add(
            ConsoleSessionRow(
                token_hash=_hash(token),
                operator_id=operator.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return f"{token}.{_signature(token)}"


def current(factory: sessionmaker, cookie: str | None) -> ConsoleSession | None:
    """The session this cookie names, while it lasts and its operator exists."""
    token = _token(cookie)
    if token is None:
        return None
    with factory() as session:
        found = session.execute(
            select(OperatorRow.name, ConsoleSessionRow.csrf_token)
            .join(OperatorRow, OperatorRow.id == ConsoleSessionRow.operator_id)
            .where(ConsoleSessionRow.token_hash == _hash(token))
            .where(ConsoleSessionRow.expires_at > datetime.utcnow())
        ).first()
    return ConsoleSession(*found) if found else None


def end(factory: sessionmaker, cookie: str | None) -> None:
    token = _token(cookie)
    if token is not None:
        with factory() as session, session.begin():
            session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == _hash(token))
            )
