"""A visitor's e-mail address, checked with email-validator before the summary.

Accepted: what RFC 5321/6531 allow and can be delivered to a domain name, including
internationalised addresses. The domain is stored and sent in its IDNA form
(``xn--...``), which every mail server reads; a local part that is not ASCII is kept as
typed (NFC) and needs SMTPUTF8 on the way. Refused, with a reason the form tells the
visitor in their language: control and other invisible characters, domain literals
(``[192.168.0.1]``), quoted local parts and display names, special-use domains
(``.local``, ``.test``...). No DNS look-up: the address is checked, not its mailbox.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

LONGEST = 254  # RFC 5321's limit of a path, less its angle brackets
LONGEST_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
# control and format characters (line breaks, NUL, bidi overrides), lone surrogates,
# line and paragraph separators: invisible, and refused by email-validator too
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


class Reason(Enum):
    """Why an address was refused; each has a response in domain/enquiry.yml."""

    SYNTAX = "syntax"  # not one address with one @
    CONTROL = "control"
    DOMAIN_LITERAL = "domain_literal"
    DOMAIN = "domain"
    LOCAL_PART = "local_part"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Address:
    stored: str  # local part as typed (NFC), domain in IDNA: stored and sent
    shown: str  # the domain in Unicode, as the visitor knows it
    smtputf8: bool  # the local part is not ASCII


@dataclass(frozen=True)
class Refusal:
    reason: Reason


def typed(text: object) -> str:
    """What the visitor typed, without the white space, angle brackets and full stop
    around it that people add."""
    return str(text or "").strip().rstrip(".").strip("<>").strip()


def _validated(address: str) -> ValidatedEmail:
    return validate_email(
        address,
        check_deliverability=False,
        allow_domain_literal=False,
        allow_smtputf8=True,
        allow_quoted_local=False,
        allow_display_name=False,
        strict=True,  # the local part's length too
    )


def _valid(address: str) -> bool:
    try:
        _validated(address)
    except EmailNotValidError:
        return False
    return True


def _reason_for(local_part: str, domain: str) -> Reason:
    """Which part made email-validator refuse: each is checked with a harmless other
    half (the library's own messages are English sentences, not kinds)."""
    if not _valid(f"a@{domain}"):
        return Reason.DOMAIN
    if not _valid(f"{local_part}@example.org"):
        return Reason.LOCAL_PART
    return Reason.TOO_LONG  # each half is fine, together they are too long


def checked_address(text: object) -> Address | Refusal:
    """The address the visitor typed, ready to store and send, or why not."""
    address = typed(text)
    if len(address) > LONGEST:
        return Refusal(Reason.TOO_LONG)
    if any(unicodedata.category(c) in _INVISIBLE for c in address):
        return Refusal(Reason.CONTROL)
    if address.count("@") != 1:
        return Refusal(Reason.SYNTAX)
    local_part, _, domain = address.partition("@")
    if len(local_part) > LONGEST_LOCAL_PART:
        return Refusal(Reason.TOO_LONG)
    if domain.startswith("[") or domain.endswith("]"):
        return Refusal(Reason.DOMAIN_LITERAL)
    try:
        valid = _validated(address)
    except EmailNotValidError:
        return Refusal(_reason_for(local_part, domain))
    return Address(
        stored=f"{valid.local_part}@{valid.ascii_domain}",
        shown=f"{valid.local_part}@{valid.domain}",
        smtputf8=valid.smtputf8,
    )
