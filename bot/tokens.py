"""Bearer tokens, as every server of the assistant checks them (operator endpoints,
the REST channel, the action server): one parser, one constant-time comparison."""

from __future__ import annotations

import hmac


def presented(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, given = (authorization or "").partition(" ")
    return given if scheme.lower() == "bearer" and given else None


def matches(authorization: str | None, token: str) -> bool:
    given = presented(authorization)
    return given is not None and hmac.compare_digest(given.strip().encode(), token.encode())
