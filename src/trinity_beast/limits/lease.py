"""Lease authorities: where the one global token bucket of each key lives.

A worker does not ask the authority on every request: it *leases* whole tokens and spends them
from memory (:mod:`.leased`). The authority keeps, per key, the free tokens ``G`` and what each
holder reported holding, and keeps ``G + Σ held ≤ burst``, so tokens sitting in workers never
let the bucket refill past its capacity. One lease call, for holder ``h`` at time ``now``:

1. holders not heard from for ``holder_ttl`` seconds are forgotten (a crashed worker);
2. ``h`` reports ``held`` (tokens it still holds: it only spent some since its last call, so
   the number is an upper bound) and ``released`` (tokens it gives back unused);
3. ``G ← min(burst - Σ others' held - held, G + rate·(now - ts) + released) - spent``
   (``spent``: requests it admitted on credit, see :mod:`.leased`; ``G`` may go negative);
   a new key starts full (``G = burst - Σ held``);
4. the *share* of a holder is ``max(1, ⌊burst / live holders⌋)``: a worker alone may hold the
   whole burst (one keep-alive connection is never starved), several split it;
5. ``granted = max(0, min(want, ⌊G⌋, share - held))``; ``G -= granted``; ``h`` now holds
   ``held + granted``;
6. the answer also says the free tokens left and the seconds until the next whole token.

:class:`LocalAuthority` runs this in process (and, with no holders, is the exact bucket of the
embedded single-worker mode); ``lease_valkey`` runs it as one Lua script shared by every worker
of every node; ``lease_unix`` serves an authority to the workers of one host over a Unix socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgspec

from trinity_beast.limits.bucket import RateLimits, TokenBucket

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

HOLDER_TTL = 10.0
"""Seconds after which the authority forgets a holder that stopped reporting (it crashed)."""
PRUNE_INTERVAL = 60.0


def raise_if_cancelled() -> None:
    """Re-raise a cancellation of the current task that a library swallowed.

    On Python 3.11 ``asyncio.wait_for`` (used by redis-py for its socket timeouts) drops a
    cancellation that arrives as the awaited call completes; a background loop would then run
    forever. ``Task.cancelling()`` still counts the request, so loops check it each round.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class AuthorityUnavailable(RuntimeError):
    """The authority could not be reached or failed; the worker falls back to local limits."""


class LeaseRequest(msgspec.Struct, frozen=True, array_like=True, gc=False):
    key_id: str
    holder: str
    rate: float
    burst: int
    held: int
    """Tokens the holder still holds (before this grant)."""
    want: int
    """Tokens it would like to add."""
    released: int = 0
    """Unused tokens it gives back (its ``held`` no longer counts them)."""
    spent: int = 0
    """Requests it admitted on credit since its last call: charged to the bucket now."""


class Grant(msgspec.Struct, frozen=True, array_like=True, gc=False):
    granted: int
    left: float
    """Free tokens left in the global bucket after this grant."""
    wait: float
    """Seconds until the global bucket holds one whole token again (0 when it does)."""


class LeaseAuthority(Protocol):
    async def lease(self, requests: Sequence[LeaseRequest]) -> list[Grant]:
        """One grant per request, in order; raises :class:`AuthorityUnavailable`."""
        ...


def share_of(burst: int, holders: int) -> int:
    """The most tokens one of ``holders`` live holders may hold."""
    return max(1, burst // max(1, holders))


class _KeyBucket:
    __slots__ = ("bucket", "burst", "holders", "rate")

    def __init__(self, tokens: float, now: float, rate: float, burst: int) -> None:
        self.bucket = TokenBucket(tokens, now)
        self.rate = rate
        self.burst = burst
        self.holders: dict[str, tuple[int, float]] = {}
        """holder → (tokens it holds, when it last reported)."""

    def others_held(self, now: float, ttl: float, holder: str | None = None) -> int:
        """Tokens held by live holders other than ``holder``; forgets holders silent for
        longer than ``ttl``."""
        total = 0
        for name, (held, seen) in list(self.holders.items()):
            if now - seen > ttl:
                del self.holders[name]
            elif name != holder:
                total += held
        return total


class LocalAuthority:
    """The global buckets in this process: exact admission for in-process callers
    (:meth:`take`) and the lease algorithm above for workers (:meth:`lease`)."""

    def __init__(self, clock: Clock = time.time, holder_ttl: float = HOLDER_TTL) -> None:
        self._clock = clock
        self._holder_ttl = holder_ttl
        self._keys: dict[str, _KeyBucket] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def take(self, key_id: str, limits: RateLimits, now: float) -> float | None:
        """Admit one request of ``key_id`` now (``None``) or return the seconds to wait.
        With no leases out this is exactly :class:`TokenBucket` (the embedded mode)."""
        entry = self._keys.get(key_id)
        if entry is None:
            entry = self._keys[key_id] = _KeyBucket(limits.burst, now, limits.rate, limits.burst)
        entry.rate, entry.burst = limits.rate, limits.burst
        cap = limits.burst
        if entry.holders:
            cap -= entry.others_held(now, self._holder_ttl)
        return entry.bucket.take(now, limits, cap)

    async def lease(self, requests: Sequence[LeaseRequest]) -> list[Grant]:
        now = self._clock()
        return [self.lease_now(request, now) for request in requests]

    def lease_now(self, request: LeaseRequest, now: float) -> Grant:
        """The lease algorithm of the module docstring, at time ``now``."""
        entry = self._keys.get(request.key_id)
        others = 0 if entry is None else entry.others_held(now, self._holder_ttl, request.holder)
        cap = request.burst - others - request.held
        if entry is None:
            entry = self._keys[request.key_id] = _KeyBucket(cap, now, request.rate,
                                                            request.burst)
        entry.rate, entry.burst = request.rate, request.burst
        bucket = entry.bucket
        bucket.tokens += request.released
        bucket.refill(now, request.rate, cap)
        bucket.tokens -= request.spent
        live = len(entry.holders) + (request.holder not in entry.holders)
        room = share_of(request.burst, live) - request.held
        granted = bucket.grant(now, request.rate, cap, min(request.want, room))
        holding = request.held + granted
        if holding > 0 or request.want > 0:
            entry.holders[request.holder] = (holding, now)
        else:
            entry.holders.pop(request.holder, None)
        return Grant(granted, bucket.tokens, bucket.next_token_in(request.rate))

    def prune(self, now: float) -> int:
        """Forget the buckets nobody holds that are full again (the same as a fresh one)."""
        idle = []
        for key_id, entry in self._keys.items():
            entry.others_held(now, self._holder_ttl)  # forgets dead holders
            if not entry.holders and entry.bucket.full_at(entry.rate, entry.burst) <= now:
                idle.append(key_id)
        for key_id in idle:
            del self._keys[key_id]
        return len(idle)

    async def run(self, sleep: Sleep = asyncio.sleep) -> None:
        """Prune idle buckets every minute (memory stays proportional to active keys)."""
        while True:
            await sleep(PRUNE_INTERVAL)
            self.prune(self._clock())
