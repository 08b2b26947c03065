"""Per-sender rate limits for the public channels: a token bucket per sender, so one
visitor (or script) sending a burst is slowed down while everybody else is served.

The limits come from ``settings.get().rate_limit`` (``RATE_LIMIT_BURST``,
``RATE_LIMIT_PER_MINUTE``) and are applied in two places: the balancer answers REST
over the limit with 429 (bot/balancer.py), and the Rasa server asks a sender on any
channel to slow down (``sender_limits_and_answer_times`` in nlu/server/patches.py)."""

from __future__ import annotations

import time
from collections import OrderedDict


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
