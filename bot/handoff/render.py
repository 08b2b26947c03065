"""Renders the e-mails of an enquiry from the templates in data/mail/.

Everything the visitor typed is treated as untrusted: headers get it with control
characters removed (no header injection), the HTML part gets it escaped.
"""

from __future__ import annotations

import html
import json
import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from string import Template

from bot import settings
from bot.knowledge.facts import Contact

TEMPLATES = settings.PROJECT_ROOT / "data" / "mail"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_text(value: str, limit: int = 120) -> str:
    """A value safe for a header: one line, no control characters, bounded."""
    return _CONTROL.sub(" ", value).strip()[:limit]


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


def _transcript_text(transcript: list[dict], language: str) -> str:
    speakers = _speakers(language)
    lines = (f"  [{t['at']}] {speakers.get(t['who'], t['who'])}: {t['text']}" for t in transcript)
    return "\n".join(lines) or "  -"


def _transcript_html(transcript: list[dict], language: str) -> str:
    speakers = _speakers(language)
    return "".join(
        f"<li><small>{html.escape(t['at'])}</small> "
        f"<b>{html.escape(speakers.get(t['who'], t['who']))}</b>: {html.escape(t['text'])}</li>"
        for t in transcript
    )


def _values(enquiry, contact: Contact) -> dict[str, str]:
    return {
        "reference": enquiry.reference,
        "topic": enquiry.topic,
        "routing_reason": enquiry.routing_reason,
        "created_at": enquiry.created_at.strftime("%Y-%m-%d %H:%M"),
        "channel": enquiry.channel,
        "visitor_name": enquiry.visitor_name,
        "visitor_email": enquiry.visitor_email,
        "visitor_organisation": enquiry.visitor_organisation or "-",
        "consent_at": enquiry.consent_at.strftime("%Y-%m-%d %H:%M"),
        "consent_notice_version": enquiry.consent_notice_version,
        "text": enquiry.text,
        "contact_name": contact.name,
        "contact_organisation": contact.organisation,
        "contact_phone": contact.phone,
    }


def _message(sender: str, to: str, subject: str, message_id: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = header_text(subject, limit=200)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    return message


def _message_id(reference: str, kind: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "hub.example.org"
    return make_msgid(idstring=f"{reference}.{kind}", domain=domain)


def contact_message(enquiry, contact: Contact, sender: str) -> EmailMessage:
    """To the contact person, Reply-To the visitor, plain text and HTML."""
    values = _values(enquiry, contact)
    transcript = json.loads(enquiry.transcript)
    language = settings.get().contact_mail_language
    subject = _subjects(language)["contact"].safe_substitute(
        {k: header_text(v) for k, v in values.items()}
    )
    message = _message(
        sender,
        formataddr((header_text(contact.name), contact.email)),
        subject,
        _message_id(enquiry.reference, "contact", sender),
    )
    message["Reply-To"] = formataddr((header_text(enquiry.visitor_name), enquiry.visitor_email))
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
    """To the visitor, in their language, with the reference."""
    values = _values(enquiry, contact)
    subject = _subjects(enquiry.language)["acknowledgement"].safe_substitute(values)
    message = _message(
        sender,
        formataddr((header_text(enquiry.visitor_name), enquiry.visitor_email)),
        subject,
        _message_id(enquiry.reference, "acknowledgement", sender),
    )
    message.set_content(
        _template("acknowledgement.LANG.txt", enquiry.language).safe_substitute(values)
    )
    return message


def as_text(message: EmailMessage) -> str:
    return message.as_string(policy=SMTP)
