"""Tables of the operator console. Times are naive UTC, as everywhere in the database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text

from bot.db import Base


class OperatorRow(Base):
    """A person who may sign in to the console (``python -m bot operators add NAME``)."""

    __tablename__ = "operator"
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(64), unique=True, nullable=False)
    password_hash = Column(String(255), nullable=False)  # argon2id, with its parameters
    created_at = Column(DateTime(), nullable=False)


class ConsoleSessionRow(Base):
    """A signed-in browser. The cookie carries the token; only its SHA-256 is stored."""

    __tablename__ = "console_session"
    token_hash = Column(String(64), primary_key=True)
    operator_id = Column(Integer, ForeignKey("operator.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(), nullable=False)
    expires_at = Column(DateTime(), nullable=False)


class AuditRow(Base):
    """Who did what in the console, and when; kept when the enquiry it names is erased."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(), nullable=False, index=True)
    operator = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)
    target = Column(String(255), nullable=False, default="")


class GapRow(Base):
    """A visitor message the assistant declined, was unsure about, could only answer with
    "I don't know that", or had to ask which hub for. It holds what the visitor wrote,
    so it follows the conversations' retention and erasure."""

    __tablename__ = "gap"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(), nullable=False, index=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    language = Column(String(8), nullable=False)
    kind = Column(String(16), nullable=False)  # declined / unsure / unknown / which_hub
    text = Column(Text, nullable=False)
    group_key = Column(String(255), nullable=False, index=True)  # similar wording, one key


class GapMarkRow(Base):
    """An operator's verdict on a group of gaps: the intent or answer it belongs to."""

    __tablename__ = "gap_mark"
    group_key = Column(String(255), primary_key=True)
    belongs_to = Column(String(128), nullable=False)
    marked_by = Column(String(64), nullable=False)
    marked_at = Column(DateTime(), nullable=False)


class TallyRow(Base):
    """How many conversations and messages a week had in one language, and how many of
    the messages were gaps, by kind. Counts only: kept beyond any retention period."""

    __tablename__ = "tally"
    week = Column(String(8), primary_key=True)  # ISO week, "2026-W49"
    language = Column(String(8), primary_key=True)
    measure = Column(String(16), primary_key=True)  # conversations, messages, or a gap kind
    count = Column(Integer, nullable=False, default=0)
