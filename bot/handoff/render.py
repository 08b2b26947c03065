"""Renders the e-mails of an enquiry from the templates in data/mail/.

Everything the visitor typed is treated as untrusted: headers get it with control
characters removed (no header injection), the HTML part gets it escaped, and all of it
is made encodable first (bot/enquiries/text.py), so no text can make rendering fail.
A message with an address that is not ASCII (a local part such as ``jörg``; domains
come in IDNA) is rendered for SMTPUTF8 (RFC 6531/6532: UTF-8 headers), which the
dispatcher then uses; every other message stays 7-bit ASCII throughout, as before.
Times are stored in UTC and shown in ``MAIL_TIMEZONE`` with the zone's abbreviation.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, Policy
from email.utils import formatdate, make_msgid, parseaddr
from string import Template

from bot import settings
from bot.enquiries.text import one_line, storable
from bot.knowledge.facts import Contact

TEMPLATES = settings.PROJECT_ROOT / "data" / "mail"
MINUTES = "%Y-%m-%d %H:%M %Z"
SECONDS = "%Y-%m-%d %H:%M:%S %Z"


def header_text(value: str, limit: int = 120) -> str:
    """A value safe for a header: one line (no header injection), no control characters,
    encodable, bounded."""
    return one_line(value)[:limit]


def mailbox(name: str, address: str) -> Address:
    """``name <address>`` for a header; the policy quotes or encodes the name."""
    local_part, at, domain = address.rpartition("@")
    if not at or not local_part or not domain:
        raise ValueError("an address needs a local part, one @ and a domain")
    return Address(display_name=header_text(name), username=local_part, domain=domain)


def _policy(sender: str, *addresses: str) -> Policy:
    """SMTPUTF8 only when an address needs it (a name is encoded in ASCII instead)."""
    return SMTP if all(a.isascii() for a in (parseaddr(sender)[1], *addresses)) else SMTPUTF8


def _template(name: str, language: str) -> Template:
    path = TEMPLATES / name.replace(".LANG.", f".{language}.")
    if not path.exists():
        path = TEMPLATES / name.replace(".LANG.", ".en.")
    return Template(path.read_text(encoding="utf-8"))


def _keyed(name: str, language: str) -> dict[str, Template]:
    """A template file of ``key: text`` lines."""
    lines = _template(name, language).template.splitlines()
    return {k.strip(): Template(v.strip()) for k, v in (line.split(":", 1) for line in lines)}


def _subjects(language: str) -> dict[str, Template]:
    return _keyed("subjects.LANG.txt", language)


def routing_reason(kind: str, subject: str, hub_name: str, contact_name: str, language: str) -> str:
    """Why this contact, in words for the contact person (data/mail/reasons.*.txt)."""
    return _keyed("reasons.LANG.txt", language)[kind].safe_substitute(
        subject=subject, hub_name=hub_name, contact_name=contact_name
    )


def _speakers(language: str) -> dict[str, str]:
    """'visitor'/'assistant' as the mail's language says them (data/mail/speakers.*.txt)."""
    return {who: t.template for who, t in _keyed("speakers.LANG.txt", language).items()}


def channel_name(key: str, language: str) -> str:
    """The channel as people call it (data/mail/channels.*.txt), not its internal key."""
    names = _keyed("channels.LANG.txt", language)
    return (names.get(key) or names["unknown"]).template


def local_time(moment: datetime, pattern: str = MINUTES) -> str:
    """A time as the reader's clock shows it (``MAIL_TIMEZONE``); a naive one is UTC, as
    the database keeps them."""
    utc = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return utc.astimezone(settings.get().mail_timezone).strftime(pattern)


def _turn_time(stored: object) -> str:
    """A transcript line's time, ISO 8601 with offset or the naive UTC of enquiries stored
    before; whatever is not a time is shown as stored."""
    text = one_line(stored)
    try:
        return local_time(datetime.fromisoformat(text), SECONDS)
    except (ValueError, OverflowError):
        return text


def turns(transcript: list[dict], language: str) -> list[tuple[str, str, str]]:
    """(at, speaker, text) of each turn, as storable text whatever the JSON held."""
    speakers = _speakers(language)
    turns = []
    for turn in transcript if isinstance(transcript, list) else []:
        turn = turn if isinstance(turn, dict) else {"text": turn}
        who = storable(turn.get("who"))
        turns.append(
            (_turn_time(turn.get("at")), speakers.get(who, who), storable(turn.get("text")))
        )
    return turns


def _transcript_text(transcript: list[dict], language: str) -> str:
    lines = (f"  [{at}] {who}: {text}" for at, who, text in turns(transcript, language))
    return "\n".join(lines) or "  -"


def _transcript_html(transcript: list[dict], language: str) -> str:
    return "".join(
        f"<li><small>{html.escape(at)}</small> <b>{html.escape(who)}</b>: {html.escape(text)}</li>"
        for at, who, text in turns(transcript, language)
    )


def _values(enquiry, contact: Contact, language: str) -> dict[str, str]:
    values = {
        "reference": enquiry.reference,
        "topic": enquiry.topic,
        "routing_reason": enquiry.routing_reason,
        "created_at": local_time(enquiry.created_at),
        "channel": channel_name(enquiry.channel, language),
        "visitor_name": enquiry.visitor_name,
        "visitor_email": enquiry.visitor_email,
        "visitor_organisation": enquiry.visitor_organisation or "-",
        "consent_at": local_time(enquiry.consent_at),
        "consent_notice_version": enquiry.consent_notice_version,
        "text": enquiry.text,
        "contact_name": contact.name,
        "contact_organisation": contact.organisation,
        "contact_phone": contact.phone,
    }
    return {key: storable(value) for key, value in values.items()}


def _message(
    sender: str, to: Address, subject: str, message_id: str, policy: Policy
) -> EmailMessage:
    message = EmailMessage(policy=policy)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = header_text(subject, limit=200)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    return message


def message_id(reference: str, kind: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "hub.example.org"
    return make_msgid(idstring=f"{reference}.{kind}", domain=domain)


def contact_message(enquiry, contact: Contact, sender: str) -> EmailMessage:
    """To the contact person, Reply-To the visitor, plain text and HTML."""
    language = settings.get().contact_mail_language
    values = _values(enquiry, contact, language)
    transcript = json.loads(storable(enquiry.transcript))
    subject = _subjects(language)["contact"].safe_substitute(
        {k: header_text(v) for k, v in values.items()}
    )
    message = _message(
        sender,
        mailbox(contact.name, contact.email),
        subject,
        message_id(enquiry.reference, "contact", sender),
        _policy(sender, contact.email, enquiry.visitor_email),
    )
    message["Reply-To"] = mailbox(enquiry.visitor_name, enquiry.visitor_email)
    message.set_content(
        _template("contact.LANG.txt", language).safe_substitute(
            values, transcript=_transcript_text(transcript, language)
        )
    )
    escaped = {k: html.escape(v) for k, v in values.items()}
    message.add_alternative(
        _template("contact.LANG.html", language).safe_substitute(
            escaped, transcript=_transcript_html(transcript, language)
        ),
        subtype="html",
    )
    return message


def acknowledgement(enquiry, contact: Contact, sender: str) -> EmailMessage:
    """To the visitor, in their language, with the reference; a reply reaches whoever
    handles data requests (``PRIVACY_CONTACT_EMAIL``), not the assistant's sender."""
    privacy_email = settings.get().privacy_contact_email
    values = _values(enquiry, contact, enquiry.language)
    subject = _subjects(enquiry.language)["acknowledgement"].safe_substitute(values)
    message = _message(
        sender,
        mailbox(enquiry.visitor_name, enquiry.visitor_email),
        subject,
        message_id(enquiry.reference, "acknowledgement", sender),
        _policy(sender, enquiry.visitor_email, privacy_email),
    )
    message["Reply-To"] = privacy_email
    message.set_content(
        _template("acknowledgement.LANG.txt", enquiry.language).safe_substitute(
            values, privacy_email=privacy_email
        )
    )
    return message


def as_text(message: EmailMessage) -> str:
    """The message as stored in the outbox and sent, under the policy it was made with."""
    return message.as_string(policy=message.policy)
