"""Per-client token buckets: one busy script cannot starve a village's endpoint."""

from __future__ import annotations

import time
from collections import OrderedDict

MAX_CLIENTS = 10_000


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float | None = None) -> float:
        """0 if the client may go ahead now, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, seen = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
        if tokens >= 1:
            self.buckets[client] = (tokens - 1, now)
            wait = 0.0
        else:
            self.buckets[client] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self.buckets) > MAX_CLIENTS:
            self.buckets.popitem(last=False)
        return wait
