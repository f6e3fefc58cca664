"""The token bucket of one API key: pure arithmetic on an injected time, no I/O, no clock.

Rule (API.md §4, docs/limits.md): the bucket holds at most ``burst`` tokens, starts full and
refills continuously at ``rate`` tokens per second. A request takes one token; with less than
one token it is refused and told to retry when the next whole token will be there. Minimum
spacing: an admission that leaves less than one token *spends the burst*; from then on two
admissions must be at least ``min_wait`` seconds apart, until the bucket has refilled to full.
"""

from __future__ import annotations

import math

import msgspec

EPSILON = 1e-9
"""Slack for comparing token counts."""
TIME_EPSILON = 1e-6
"""Slack for comparing times: an epoch timestamp as a float is only exact to ~0.24 µs, and a
client that retries exactly at ``retry_after`` must be admitted."""


class RateLimits(msgspec.Struct, frozen=True, gc=False):
    """The rate limits of one key: ``rate`` tokens per second, ``burst`` capacity, spacing."""

    rate: float
    burst: int
    min_wait: float = 0.0


class TokenBucket:
    """Mutable bucket state. ``cap`` is the capacity now: ``burst`` minus tokens leased out."""

    __slots__ = ("last_admit", "spaced", "stamp", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.stamp = now
        """Time up to which the refill has been added."""
        self.last_admit = -math.inf
        self.spaced = False
        """The burst is spent: admissions must be ``min_wait`` apart until the bucket is full."""

    def refill(self, now: float, rate: float, cap: float) -> None:
        """Add the tokens earned since the last call, up to ``cap``. A clock that went back
        earns nothing (and is not remembered), so time never runs backwards here."""
        if now > self.stamp:
            self.tokens = min(cap, self.tokens + (now - self.stamp) * rate)
            self.stamp = now
        elif self.tokens > cap:
            self.tokens = cap
        if self.tokens >= cap - EPSILON:
            self.spaced = False

    def take(self, now: float, limits: RateLimits, cap: float | None = None) -> float | None:
        """Admit one request (``None``) or return the seconds until it would be admitted."""
        cap = limits.burst if cap is None else cap
        self.refill(now, limits.rate, cap)
        wait = self.last_admit + limits.min_wait - now if self.spaced else 0.0
        if self.tokens < 1.0:
            wait = max(wait, (1.0 - self.tokens) / limits.rate)
        if wait > TIME_EPSILON:
            return wait
        self.tokens -= 1.0
        self.last_admit = now
        if self.tokens < 1.0 - EPSILON:
            self.spaced = True
        return None

    def grant(self, now: float, rate: float, cap: float, want: int) -> int:
        """Refill, then remove and return up to ``want`` whole tokens (a lease, not a request:
        no spacing applies; the holder spaces its own admissions)."""
        self.refill(now, rate, cap)
        granted = max(0, min(want, math.floor(self.tokens + EPSILON)))
        self.tokens -= granted
        return granted

    def next_token_in(self, rate: float) -> float:
        """Seconds until the bucket holds one whole token again (0 when it does)."""
        return max(0.0, (1.0 - self.tokens) / rate) if self.tokens < 1.0 - EPSILON else 0.0

    def full_at(self, rate: float, cap: float) -> float:
        """The time at which the bucket will be full (for forgetting idle buckets)."""
        return self.stamp + max(0.0, cap - self.tokens) / rate
