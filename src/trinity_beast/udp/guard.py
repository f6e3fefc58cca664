"""The amplification guard: token buckets for the replies to datagrams we did not admit.

A UDP source address can be forged, so any reply to a stranger can be aimed at a victim. Error
replies to datagrams that were not admitted (malformed, unauthenticated, over their key's
limits) therefore draw from two token buckets: one per source address and one for the whole
listener (forged sources are many; the global bucket bounds them all). A reply without a token
is not sent. The table of sources is bounded: when full, sources whose bucket has refilled are
forgotten, and if that frees nothing the table is cleared (the global bucket still holds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_MAX_SOURCES = 65_536


class TokenBucket:
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def refill(self, now: float) -> float:
        """Add what ``rate`` earned since the last call; returns the balance."""
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        return self.tokens


class ReplyGuard:
    def __init__(self, rate: float, burst: float, global_rate: float, global_burst: float, *,
                 max_sources: int = DEFAULT_MAX_SOURCES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self.clock = clock
        self._global = TokenBucket(global_rate, global_burst, clock())
        self._sources: dict[str, TokenBucket] = {}

    def allow(self, host: str) -> bool:
        """Spend one token of ``host`` and one of the listener, or neither."""
        now = self.clock()
        bucket = self._sources.get(host)
        if bucket is None:
            if len(self._sources) >= self.max_sources:
                self._forget_refilled(now)
            bucket = self._sources[host] = TokenBucket(self.rate, self.burst, now)
        if bucket.refill(now) < 1.0 or self._global.refill(now) < 1.0:
            return False
        bucket.tokens -= 1.0
        self._global.tokens -= 1.0
        return True

    def _forget_refilled(self, now: float) -> None:
        full = [h for h, b in self._sources.items() if b.refill(now) >= self.burst]
        for host in full:
            del self._sources[host]
        if len(self._sources) >= self.max_sources:
            self._sources.clear()

    def __len__(self) -> int:
        return len(self._sources)
