"""Conversation ids: a channel's conversations cannot be named from another channel,
and a browser can resume only a widget session the server issued."""

from __future__ import annotations

import pytest

from bot import conversations


def test_the_same_platform_id_on_two_channels_is_two_conversations():
    telegram = conversations.conversation_id("telegram", 4242)
    rest = conversations.conversation_id("rest", "4242")
    assert telegram != rest
    assert conversations.conversation_id("rest", telegram) != telegram  # no way to spell it
    assert conversations.id_on_channel("telegram", telegram) == "4242"
    with pytest.raises(ValueError):
        conversations.id_on_channel("telegram", rest)


@pytest.mark.parametrize(
    "conversation, channel",
    [
        ("telegram:4242", "telegram"),
        ("rest:x:y", "rest"),
        ("4242", "unknown"),
        ("evil:1", "unknown"),
    ],
)
def test_the_channel_of_a_conversation_comes_from_its_id(conversation, channel):
    assert conversations.channel_of(conversation) == channel


def test_only_sessions_signed_with_this_deployments_secret_are_resumed():
    session = conversations.new_session("secret-a")
    raw, signature = session.split(".")
    assert conversations.is_issued_session(session, "secret-a")
    assert not conversations.is_issued_session(session, "secret-b")
    for forged in (raw, f"{raw}.{'0' * len(signature)}", f"{'0' * len(raw)}.{signature}", None, 7):
        assert not conversations.is_issued_session(forged, "secret-a")
    assert conversations.new_session("secret-a") != session
