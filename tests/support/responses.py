"""What the assistant says, read from the domain's own response variants, so tests
can tell which response (and in which language) a reply is, whatever the wording."""

from __future__ import annotations

import re

from tests.support import domain

RESPONSES = domain.merged()["responses"]
LANGUAGES = ("en", "de")


def wording(response: str, language: str) -> list[str]:
    """The fixed words of a response's variant in ``language`` (between placeholders)."""
    for variant in RESPONSES[response]:
        conditions = variant.get("condition") or []
        is_german = any(c.get("value") == "de" for c in conditions)
        if is_german == (language == "de"):
            return [p.strip() for p in re.split(r"\{\w+\}", variant["text"]) if len(p.strip()) > 3]
    raise LookupError(response)


def says(reply: str, response: str, language: str) -> bool:
    return all(part in reply for part in wording(response, language))


def says_any(reply: str, responses: tuple[str, ...]) -> bool:
    """The reply is one of ``responses``, in either language."""
    return any(says(reply, r, language) for r in responses for language in LANGUAGES)


def spoken_in(reply: str) -> set[str]:
    """The languages of the responses the reply is made of."""
    return {
        language
        for response in RESPONSES
        for language in LANGUAGES
        if wording(response, language) and says(reply, response, language)
    }
