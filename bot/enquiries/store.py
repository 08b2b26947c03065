"""Enquiry records: stored first, in one transaction with the e-mails that hand
them over, so nothing the visitor confirmed can be lost by a later failure."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot import db, settings
from bot.console import gaps
from bot.enquiries.models import EnquiryRow, OutboxRow, ReferenceCounterRow
from bot.enquiries.text import storable
from bot.handoff import render
from bot.knowledge.facts import Contact

log = logging.getLogger(__name__)

NOT_RENDERED = "not rendered"  # how last_error starts for a row without a message


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class NewEnquiry:
    """What the visitor confirmed, with the routing decision and their consent."""

    conversation_id: str
    channel: str
    visitor_name: str
    visitor_email: str
    visitor_organisation: str
    text: str
    contact: Contact
    hub: str
    topic: str
    routing_reason: str
    consent_notice_version: str
    language: str = "en"
    transcript: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class StoredEnquiry:
    reference: str
    contact_name: str
    contact_phone: str


def reference_for(number: int, year: int) -> str:
    return f"HUB-{year}-{number:06d}"


class CounterMissing(SQLAlchemyError):
    """The database has no reference counter row: it was not brought to the newest
    schema (``python -m bot db create``)."""


def _next_number(session: Session) -> int:
    """The next reference number, in the caller's transaction. The UPDATE comes first
    and holds the counter until the transaction ends (PostgreSQL's row lock, SQLite's
    write lock), so two processes submitting at once get different numbers; a
    transaction that rolls back gives its number back with it."""
    bumped = session.execute(
        update(ReferenceCounterRow)
        .where(ReferenceCounterRow.id == 1)
        .values(last_number=ReferenceCounterRow.last_number + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:
        raise CounterMissing("enquiry_reference_counter has no row; run `python -m bot db create`")
    return session.execute(
        select(ReferenceCounterRow.last_number).where(ReferenceCounterRow.id == 1)
    ).scalar_one()


def submit(new: NewEnquiry, factory: sessionmaker | None = None) -> StoredEnquiry:
    """Store the enquiry and queue its e-mails, atomically, under a reference that no
    other enquiry has had, even one erased since. An e-mail that cannot be rendered
    does not stop the enquiry: it is stored failed, naming why."""
    factory = factory or db.session_factory()
    now = utcnow()
    sender = settings.get().mail_from
    give_up_at = now + timedelta(hours=settings.get().handoff_give_up_hours)
    with factory.begin() as session:
        enquiry = EnquiryRow(
            reference=reference_for(_next_number(session), now.year),
            created_at=now,
            channel=new.channel,
            conversation_id=new.conversation_id,
            language=new.language,
            visitor_name=storable(new.visitor_name),
            visitor_email=storable(new.visitor_email),
            visitor_organisation=storable(new.visitor_organisation),
            text=storable(new.text),
            hub=new.hub,
            contact_key=new.contact.key,
            contact_name=new.contact.name,
            contact_email=new.contact.email,
            routing_reason=storable(new.routing_reason),
            topic=storable(new.topic),
            consent_at=now,
            consent_notice_version=new.consent_notice_version,
            transcript=storable(json.dumps(new.transcript, ensure_ascii=False)),
        )
        session.add(enquiry)
        for kind, build, recipient in (
            ("contact", render.contact_message, new.contact.email),
            ("acknowledgement", render.acknowledgement, enquiry.visitor_email),
        ):
            row = OutboxRow(
                enquiry=enquiry,
                kind=kind,
                recipient=recipient,
                sender=sender,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                give_up_at=give_up_at,
            )
            try:
                message = build(enquiry, new.contact, sender)
                row.message_id, row.raw = message["Message-ID"], render.as_text(message)
            except Exception as error:  # a bug must not lose what the visitor confirmed
                log.error(
                    "the %s e-mail of %s could not be rendered: %s",
                    kind,
                    enquiry.reference,
                    type(error).__name__,
                )
                row.message_id = render.message_id(enquiry.reference, kind, sender)
                row.raw, row.status = "", "failed"
                row.last_error = f"{NOT_RENDERED}: {type(error).__name__}: {error}"
            session.add(row)
        return StoredEnquiry(enquiry.reference, new.contact.name, new.contact.phone)


def enquiries(
    factory: sessionmaker | None = None, reference: str | None = None
) -> list[EnquiryRow]:
    factory = factory or db.session_factory()
    query = select(EnquiryRow).options(selectinload(EnquiryRow.outbox)).order_by(EnquiryRow.id)
    if reference:
        query = query.where(EnquiryRow.reference == reference)
    with factory() as session:
        return list(session.execute(query).scalars())


def status_of(enquiry: EnquiryRow) -> str:
    """handed over / queued / failed, from its e-mail to the contact; another e-mail
    that failed is named too (an acknowledgement the visitor never got)."""
    contact_mail = next((m for m in enquiry.outbox if m.kind == "contact"), None)
    if contact_mail is None:
        return "no e-mail"
    status = {"sent": "handed over", "pending": "queued", "failed": "failed"}[contact_mail.status]
    failed = [m.kind for m in enquiry.outbox if m.kind != "contact" and m.status == "failed"]
    return ", ".join([status, *(f"{kind} failed" for kind in failed)])


def export(enquiry: EnquiryRow) -> dict:
    """Everything stored about one enquiry (for an operator or a data-access request)."""
    columns = {c.name: getattr(enquiry, c.name) for c in EnquiryRow.__table__.columns}
    columns["transcript"] = json.loads(enquiry.transcript)
    columns["emails"] = [
        {
            c: getattr(m, c)
            for c in (
                "kind",
                "recipient",
                "message_id",
                "status",
                "attempts",
                "last_error",
                "sent_at",
            )
        }
        for m in enquiry.outbox
    ]
    return json.loads(json.dumps(columns, default=str))


def resend(reference: str, factory: sessionmaker | None = None) -> int:
    """Queue a failed enquiry's e-mails again; returns how many were queued. One that
    was never rendered stays failed: there is nothing to send (its details are in
    :func:`export`)."""
    factory = factory or db.session_factory()
    now = utcnow()
    with factory.begin() as session:
        rows = (
            session.execute(
                select(OutboxRow)
                .join(EnquiryRow)
                .where(
                    EnquiryRow.reference == reference,
                    OutboxRow.status == "failed",
                    OutboxRow.raw != "",
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            row.status, row.next_attempt_at = "pending", now
            row.give_up_at = now + timedelta(hours=settings.get().handoff_give_up_hours)
        return len(rows)


def _delete_enquiries(condition, factory: sessionmaker | None) -> int:
    """Delete the enquiries matching ``condition`` with their transcripts and e-mails
    (the reference counter stays: their numbers are not given again)."""
    factory = factory or db.session_factory()
    with factory.begin() as session:
        ids = session.execute(select(EnquiryRow.id).where(condition)).scalars().all()
        session.execute(delete(OutboxRow).where(OutboxRow.enquiry_id.in_(ids)))
        session.execute(delete(EnquiryRow).where(EnquiryRow.id.in_(ids)))
        return len(ids)


def delete_conversation_data(conversation_id: str, factory: sessionmaker | None = None) -> int:
    """A visitor's right to erasure: their enquiries, transcripts and queued e-mails, and
    what they asked that the assistant could not answer (the console's gaps). Returns
    the number of enquiries."""
    factory = factory or db.session_factory()
    gaps.erase_conversation(factory, conversation_id)
    return _delete_enquiries(EnquiryRow.conversation_id == conversation_id, factory)


def purge(older_than_days: int, factory: sessionmaker | None = None) -> int:
    """Retention: remove enquiries (with transcripts and e-mails) older than the limit."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    return _delete_enquiries(EnquiryRow.created_at < cutoff, factory)


def erase(reference: str, factory: sessionmaker | None = None) -> int:
    """An operator's erasure of one enquiry, with its transcript and e-mails."""
    return _delete_enquiries(EnquiryRow.reference == reference, factory)
