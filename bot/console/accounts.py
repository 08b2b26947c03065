"""Operator accounts: names and argon2id password hashes, never the passwords."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from bot.console.models import OperatorRow

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 12
HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# verified when the name is unknown, so that a wrong name takes as long as a wrong password
_NOBODY = HASHER.hash("no operator has this password")


class AccountError(ValueError):
    """What is wrong with a name or password, in words for the terminal."""


def add(factory: sessionmaker, name: str, password: str) -> OperatorRow:
    if not NAME.fullmatch(name):
        raise AccountError("a name is 2-64 of a-z 0-9 . _ -, starting with a letter or digit")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    with factory() as session, session.begin():
        if session.scalar(select(OperatorRow.id).where(OperatorRow.name == name)) is not None:
            raise AccountError(f"there is an operator {name!r} already")
        row = OperatorRow(name=name, password_hash=HASHER.hash(password), created_at=_now())
        session.add(row)
    return row


def names(factory: sessionmaker) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(OperatorRow.name).order_by(OperatorRow.name)))


def remove(factory: sessionmaker, name: str) -> bool:
    """Removes the account and, with it, every session it has open."""
    with factory() as session, session.begin():
        return session.execute(delete(OperatorRow).where(OperatorRow.name == name)).rowcount > 0


def signed_in(factory: sessionmaker, name: str, password: str) -> OperatorRow | None:
    """The operator whose name and password these are, else None."""
    with factory() as session, session.begin():
        row = session.scalar(select(OperatorRow).where(OperatorRow.name == name))
        try:
            HASHER.verify(row.password_hash if row else _NOBODY, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if HASHER.check_needs_rehash(row.password_hash):  # parameters raised since
            row.password_hash = HASHER.hash(password)
        return row


def _now() -> datetime:
    return datetime.utcnow().replace(microsecond=0)
