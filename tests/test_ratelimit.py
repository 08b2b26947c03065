"""Per-sender rate limits: a burst, then the steady rate; senders are independent."""

from bot.ratelimit import SenderLimits


def test_a_burst_is_allowed_then_the_sender_waits_while_others_go_on():
    limits = SenderLimits(burst=3, per_minute=60)
    assert [limits.allow("a", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert limits.allow("a", now=0.0) == 1.0  # one message a second refills
    assert limits.allow("b", now=0.0) == 0
    assert limits.allow("a", now=1.0) == 0
    assert limits.allow("a", now=1.0) > 0


def test_memory_is_bounded():
    limits = SenderLimits(burst=1, per_minute=1, senders=2)
    for sender in "abc":
        limits.allow(sender, now=0.0)
    assert limits.allow("a", now=0.0) == 0  # "a" was forgotten, so it starts afresh
