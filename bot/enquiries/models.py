"""Tables for enquiries and the e-mails that hand them over."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.db import Base

# Times are naive UTC: the same on SQLite and PostgreSQL.


class EnquiryRow(Base):
    __tablename__ = "enquiry"
    id = Column(Integer, primary_key=True, autoincrement=True)
    reference = Column(String(32), unique=True, nullable=True)
    created_at = Column(DateTime(), nullable=False)
    channel = Column(String(32), nullable=False)
    conversation_id = Column(String(255), nullable=False, index=True)
    language = Column(String(8), nullable=False)
    visitor_name = Column(String(200), nullable=False)
    visitor_email = Column(String(320), nullable=False)
    visitor_organisation = Column(String(200), nullable=False, default="")
    text = Column(Text, nullable=False)
    hub = Column(String(64), nullable=False)
    contact_key = Column(String(64), nullable=False)
    contact_name = Column(String(200), nullable=False)
    contact_email = Column(String(320), nullable=False)
    routing_reason = Column(Text, nullable=False)
    topic = Column(String(200), nullable=False)
    consent_at = Column(DateTime(), nullable=False)
    consent_notice_version = Column(String(64), nullable=False)
    transcript = Column(Text, nullable=False)  # JSON list of {"who", "text", "at"}
    outbox = relationship(
        "OutboxRow", back_populates="enquiry", cascade="all, delete-orphan", order_by="OutboxRow.id"
    )


class OutboxRow(Base):
    """One e-mail to send. The rendered message is stored, so every attempt sends the
    same bytes with the same Message-ID."""

    __tablename__ = "outbox"
    id = Column(Integer, primary_key=True, autoincrement=True)
    enquiry_id = Column(Integer, ForeignKey("enquiry.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(32), nullable=False)  # contact / acknowledgement
    recipient = Column(String(320), nullable=False)
    sender = Column(String(320), nullable=False)
    message_id = Column(String(255), nullable=False, unique=True)
    raw = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="pending")  # pending / sent / failed
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(), nullable=False)
    give_up_at = Column(DateTime(), nullable=False)
    last_error = Column(Text, nullable=True)
    sent_at = Column(DateTime(), nullable=True)
    # the lease of the dispatcher sending it now: no other one takes the row before
    # this time (bot/handoff/dispatcher.py); None when nobody is sending it
    claimed_until = Column(DateTime(), nullable=True)
    enquiry = relationship("EnquiryRow", back_populates="outbox")


class ReferenceCounterRow(Base):
    """The last reference number issued: one row (``id`` 1) for all years, incremented in
    the transaction that stores the enquiry and never touched by erasure or the purge,
    so a number is never given twice (the row id is not enough: SQLite hands out
    max+1 again once the newest rows are deleted).

    One global row rather than one per year: the numbers issued before this row existed
    were the row ids, counted across years, so a global counter simply continues them;
    the number alone names an enquiry; and there is no row to create at New Year that
    two processes could race to insert. A reference is ``HUB-<year of submission>-<n>``.
    """

    __tablename__ = "enquiry_reference_counter"
    id = Column(Integer, primary_key=True, autoincrement=False)
    last_number = Column(Integer, nullable=False)
