"""Visitor text made safe to store and to encode, whatever arrived.

JSON can carry a lone surrogate (``"\\ud800"``), which no encoder takes (UTF-8 for the
database and the e-mails raises ``UnicodeEncodeError``), and a NUL, which PostgreSQL
refuses in text. The form cleans what visitors type with these; the store and the
renderer clean again, so text from elsewhere cannot stop an enquiry either.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab and line breaks
_LINE_BREAK = re.compile(r"\r\n?")


def storable(value: object) -> str:
    """``value`` as text any encoder takes: a lone surrogate becomes U+FFFD (the reader
    sees that something was there), a control character other than tab and line break
    a space, and line breaks are ``\\n``."""
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text
    text = _SURROGATE.sub(REPLACEMENT, text)
    return _CONTROL.sub(" ", _LINE_BREAK.sub("\n", text))


def one_line(value: object) -> str:
    """``value`` as storable text on one line, runs of white space as one space."""
    return " ".join(storable(value).split())
