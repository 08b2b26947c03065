"""Rate limits for the public channels: a token bucket per sender and one per client
address, so one visitor (or script) sending a burst is slowed down while everybody
else is served.

Two keys, because either alone is stepped around. Per sender (``RATE_LIMIT_BURST``,
``RATE_LIMIT_PER_MINUTE``): one conversation's burst; every Rasa server asks a sender
over it on any channel to slow down, and answers REST with 429
(``sender_limits_and_answer_times`` in nlu/server/patches.py). Per client address
(``RATE_LIMIT_CLIENT_BURST``, ``RATE_LIMIT_CLIENT_PER_MINUTE``): one client rotating
sender ids sent 600 messages in 12 s, none limited, and another visitor's answers went
from 20 ms to 435 ms. It applies where the client is the visitor's own device: REST and
socket.io, at the front door (nginx's ``limit_req``, deploy/nginx.conf) and on every Rasa
server by itself (nlu/channels/clients.py);
not to the messenger webhooks, which all come from Telegram's or Meta's servers.

The client address is the peer's; ``X-Forwarded-For`` is believed only from
``TRUSTED_PROXIES`` (:func:`client_address`). Several Rasa servers share their
buckets in Redis (bot/shared_limits.py).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from typing import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_SITE_PREFIX = 64  # one household's or office's IPv6 network, as one NAT address


class SenderLimits:
    def __init__(self, burst: int = 10, per_minute: float = 30.0, senders: int = 100_000):
        self.burst, self.rate = burst, per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._senders = senders

    def allow(self, sender: str, now: float | None = None) -> float:
        """0 if this sender may send now (and counts it), else seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(sender, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[sender] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > self._senders:  # bounded memory: forget the quietest
            self._buckets.popitem(last=False)
        return wait


class ClientLimits(SenderLimits):
    """Per client address. An IPv6 client is counted by its /64: one device may take
    any address of its network, as an IPv4 client may take any sender id."""

    def allow(self, address: str, now: float | None = None) -> float:
        return super().allow(bucket_of(address), now)


def bucket_of(address: str) -> str:
    ip = parse_address(address)
    if ip is None:
        return address
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.IPv6Network((int(ip), IPV6_SITE_PREFIX), strict=False))


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES``' entries (addresses or CIDR networks) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(text: str | None) -> Address | None:
    """An address as a peer or a proxy gives it (``[::1]`` too); IPv4-mapped IPv6 as
    IPv4, so that a dual-stack socket's 127.0.0.1 is loopback's; None if it is none."""
    try:
        ip = ipaddress.ip_address((text or "").strip().strip("[]"))
    except ValueError:
        return None
    return (ip.ipv4_mapped or ip) if ip.version == 6 else ip


def _hops(forwarded_for: str | Iterable[str] | None) -> list[str]:
    headers = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for or ())
    return [hop for header in headers for hop in header.split(",")]


def _trusted(ip: Address, trusted: Sequence[Network]) -> bool:
    return any(ip.version == network.version and ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | Iterable[str] | None, trusted: Sequence[Network]
) -> str:
    """The address a request came from: the peer's, unless the peer is a trusted proxy;
    then the rightmost hop of ``X-Forwarded-For`` that is not one, i.e. the address our
    outermost proxy saw. What a client writes into the header stands left of that and
    is never read, and from an untrusted peer the header is ignored altogether."""
    ip = parse_address(peer)
    if ip is None:
        return peer or "unknown"  # a Unix socket: all its clients are one
    if not _trusted(ip, trusted):
        return str(ip)
    for hop in reversed(_hops(forwarded_for)):
        hop_ip = parse_address(hop)
        if hop_ip is None:  # no proxy of ours writes that: the last one we believe
            break
        ip = hop_ip
        if not _trusted(ip, trusted):
            break
    return str(ip)
