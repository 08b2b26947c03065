"""Rate limits per sender and per client address: a burst, then the steady rate; senders
and addresses are independent; the address is the peer's unless a trusted proxy says."""

import pytest

from bot import settings
from bot.ratelimit import ClientLimits, SenderLimits, client_address, networks

LOOPBACK = networks(["127.0.0.1", "::1"])


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


# --- per client address -------------------------------------------------------------------


def test_one_address_rotating_sender_ids_is_limited_while_another_address_goes_on():
    limits = ClientLimits(burst=60, per_minute=240)
    answered = [limits.allow("203.0.113.7", now=0.0) == 0 for _sender in range(600)]
    assert answered.count(True) == 60  # the burst, then nothing in the same instant
    assert limits.allow("198.51.100.2", now=0.0) == 0
    assert limits.allow("203.0.113.7", now=0.25) == 0  # 4 a second refill


def test_an_ipv6_client_is_one_client_across_its_network():
    limits = ClientLimits(burst=2, per_minute=1)
    assert limits.allow("2001:db8:1:2::1", now=0.0) == 0
    assert limits.allow("2001:db8:1:2:ffff::9", now=0.0) == 0
    assert limits.allow("2001:db8:1:2::abcd", now=0.0) > 0  # same /64
    assert limits.allow("2001:db8:1:3::1", now=0.0) == 0  # the neighbouring network


def test_client_memory_is_bounded():
    limits = ClientLimits(burst=1, per_minute=1, senders=2)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        limits.allow(address, now=0.0)
    assert limits.allow("192.0.2.1", now=0.0) == 0  # forgotten, so it starts afresh


@pytest.mark.parametrize(
    "peer, header, expected",
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "127.0.0.1", "203.0.113.7"),  # forged by an untrusted peer: ignored
        ("203.0.113.7", "198.51.100.2, 127.0.0.1", "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the front door's word is believed
        ("127.0.0.1", ["198.51.100.9, 203.0.113.7"], "203.0.113.7"),  # client's own hop left
        ("127.0.0.1", ["198.51.100.9", "203.0.113.7, 127.0.0.1"], "203.0.113.7"),  # two proxies
        ("127.0.0.1", None, "127.0.0.1"),  # the front door's own request, or a local client
        ("127.0.0.1", "not an address", "127.0.0.1"),
        ("127.0.0.1", "garbage, 203.0.113.7", "203.0.113.7"),
        ("::ffff:127.0.0.1", "[2001:db8::1]", "2001:db8::1"),  # dual-stack loopback, IPv6
        ("::1", "203.0.113.7", "203.0.113.7"),
        ("", "203.0.113.7", "unknown"),  # a Unix socket: nothing to believe a header from
    ],
)
def test_the_client_address_believes_x_forwarded_for_only_from_trusted_proxies(
    peer, header, expected
):
    assert client_address(peer, header, LOOPBACK) == expected


def test_trusted_proxies_are_loopback_unless_set_and_checked_when_read():
    assert settings.load({}).trusted_proxies == ("127.0.0.1/32", "::1/128")
    chosen = settings.load({"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"}).trusted_proxies
    assert client_address("10.1.2.3", "203.0.113.7", networks(chosen)) == "203.0.113.7"
    with pytest.raises(settings.SettingsError, match="TRUSTED_PROXIES must be addresses"):
        settings.load({"TRUSTED_PROXIES": "proxy.example.org"})
    limit = settings.load({}).client_rate_limit
    assert (limit.burst, limit.per_minute) == (60, 240.0)
    with pytest.raises(settings.SettingsError, match="RATE_LIMIT_CLIENT_PER_MINUTE"):
        settings.load({"RATE_LIMIT_CLIENT_PER_MINUTE": "0"})
