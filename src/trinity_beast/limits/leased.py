"""A worker's side of the lease scheme: spend leased tokens from memory, lease more off-path.

The request path (:meth:`LeasedRate.take`) only reads and writes this object. One background
loop (:meth:`LeasedRate.run`) sends every due lease of every key in one authority call:

* **credit** — a request that finds no leased token is still admitted, up to ``allowance``
  requests (default 1) not yet reported, when the authority's last answer showed a free token
  (or this worker knows nothing of the key yet: the first request never waits on the network).
  The next lease reports them as ``spent`` and the authority charges them to the global bucket,
  which may go negative so that later grants wait for them. Credit is offered again only after
  an answer that shows a free token, so the bucket never goes below ``-workers·allowance``;
* **prefetch** — after an admission that leaves at most half of what the last grant brought,
  or when a request finds no token, the key is leased again (no sooner than ``min_interval``
  after its last lease, nor before the authority's next token when it said the bucket is
  drained), asking for ``burst - held``; the authority caps it at the holder's share;
* **spacing** — ``min_wait`` is enforced between this worker's admissions once the authority
  reported the bucket drained and this worker's tokens ran out, until an answer shows free
  tokens again;
* **return** — a key without requests for ``idle_return`` seconds gives its tokens back, and is
  forgotten once the last answer implies the global bucket is full again (forgetting re-opens
  the first-request credit, so it must not happen while the bucket may still be in debt);
  holdings are re-reported at least every ``renew`` seconds, so the authority never takes a
  live worker for a dead one;
* **outage** — when the authority fails, every key is limited by a local exact bucket (per
  worker) until a probe lease succeeds again (``down_retry`` seconds apart).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time

from trinity_beast.limits.bucket import EPSILON, TIME_EPSILON, RateLimits
from trinity_beast.limits.lease import (
    AuthorityUnavailable,
    Clock,
    Grant,
    LeaseAuthority,
    LeaseRequest,
    LocalAuthority,
    Sleep,
    raise_if_cancelled,
)

log = logging.getLogger(__name__)

MIN_RETRY_AFTER = 0.001
MAINTENANCE_INTERVAL = 0.25


def default_holder() -> str:
    """``host:pid:random`` — unique per worker, readable in ``ratelimit:*`` hashes."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class _Holding:
    """What this worker holds, and knows, for one key."""

    __slots__ = ("credit", "drained", "full_at", "last_admit", "last_call", "last_demand",
                 "limits", "next_lease", "next_token_at", "reported", "spaced", "target",
                 "tokens")

    def __init__(self, limits: RateLimits, credit: int, now: float) -> None:
        self.limits = limits
        self.tokens = 0
        """Leased tokens not yet spent; negative = requests admitted on credit, not reported."""
        self.credit = credit
        """Requests that may still be admitted on credit."""
        self.target = limits.burst
        """Tokens held right after the last grant: the reference of the low-water mark."""
        self.last_demand = now
        self.last_call = -math.inf
        self.next_lease = now
        self.next_token_at = now
        self.full_at = now
        """When the global bucket will be full again, as far as the last answer tells."""
        self.reported = False
        """The authority keeps a holder entry for this worker (a return removes it)."""
        self.drained = False
        self.spaced = False
        self.last_admit = -math.inf


Batch = list[tuple[str, _Holding, LeaseRequest]]


class LeasedRate:
    """Per-key rate limits of one worker, from tokens leased from a shared authority."""

    def __init__(self, authority: LeaseAuthority, holder: str | None = None, *,
                 clock: Clock = time.time, allowance: int = 1, min_interval: float = 0.01,
                 idle_return: float = 1.0, renew: float = 2.0, down_retry: float = 1.0) -> None:
        self._authority = authority
        self.holder = holder or default_holder()
        self._clock = clock
        self._allowance = allowance
        self._min_interval = min_interval
        self._idle_return = idle_return
        self._renew = renew
        self._down_retry = down_retry
        self._holdings: dict[str, _Holding] = {}
        self._wanted: set[str] = set()
        self._wake = asyncio.Event()
        self._rtt = 0.001
        self._next_maintenance = -math.inf
        self._fallback = LocalAuthority()
        self._down_since: float | None = None
        self._probe: tuple[str, RateLimits] | None = None

    @property
    def down(self) -> bool:
        """The authority failed its last call: limits are per worker until it answers again."""
        return self._down_since is not None

    def held(self, key_id: str) -> int | None:
        """Tokens this worker holds for ``key_id`` (negative: unreported credit); ``None``
        when it has forgotten the key."""
        holding = self._holdings.get(key_id)
        return None if holding is None else holding.tokens

    def take(self, key_id: str, limits: RateLimits, now: float) -> float | None:
        """Admit one request (``None``) or return the seconds to wait. Never awaits."""
        if self._down_since is not None:
            if self._probe is None:
                self._probe = (key_id, limits)
                self._wake.set()
            return self._fallback.take(key_id, limits, now)
        h = self._holdings.get(key_id)
        if h is None:
            h = self._holdings[key_id] = _Holding(limits, self._allowance, now)
        h.limits = limits
        h.last_demand = now
        if h.spaced and now - h.last_admit < limits.min_wait - TIME_EPSILON:
            return h.last_admit + limits.min_wait - now
        if h.tokens < 1:
            if h.credit <= 0:
                self._want(key_id)
                return self._retry_after(h, now)
            h.credit -= 1
        h.tokens -= 1
        h.last_admit = now
        if h.tokens < 1 and h.drained:
            h.spaced = True
        if h.tokens * 2 <= h.target:
            self._want(key_id)
        return None

    def _want(self, key_id: str) -> None:
        if key_id not in self._wanted:
            self._wanted.add(key_id)
            self._wake.set()

    def _retry_after(self, h: _Holding, now: float) -> float:
        """When a token should be here: the next lease (or the authority's next token, when it
        said the bucket is drained) plus a round trip, with one round trip of slack."""
        ready = max(h.next_lease, h.next_token_at if h.drained else now)
        return max(MIN_RETRY_AFTER, ready - now + 2 * self._rtt)

    async def run(self, sleep: Sleep = asyncio.sleep) -> None:
        """The background loop: lease, renew and return; wakes early when a key wants tokens."""
        while True:
            self._wake.clear()
            delay = await self.step()
            raise_if_cancelled()
            if not self._wake.is_set():
                await self._idle(delay, sleep)

    async def _idle(self, delay: float, sleep: Sleep) -> None:
        """Wait ``delay`` seconds or until a key wants tokens. The helper tasks are cancelled,
        not awaited: awaiting them could swallow a cancellation of :meth:`run` itself."""
        woken = asyncio.ensure_future(self._wake.wait())
        slept = asyncio.ensure_future(sleep(delay))
        try:
            await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()

    async def step(self) -> float:
        """One round: every due lease in one call. Returns seconds until the next is due."""
        now = self._clock()
        if self._down_since is not None:
            return await self._probe_authority(now)
        batch = self._due_leases(now)
        if now >= self._next_maintenance:
            self._next_maintenance = now + MAINTENANCE_INTERVAL
            batch += self._maintenance(now, {key_id for key_id, _, _ in batch})
        if batch:
            try:
                grants = await self._authority.lease([request for _, _, request in batch])
            except AuthorityUnavailable as exc:
                self._go_down(now, exc)
                return self._down_retry
            done = self._clock()
            self._rtt = 0.8 * self._rtt + 0.2 * max(0.0, done - now)
            for (key_id, h, request), grant in zip(batch, grants, strict=True):
                self._apply(key_id, h, request, grant, done)
            now = done
        return self._next_due(now)

    def _request(self, key_id: str, h: _Holding, now: float, *, want: bool = True,
                 release: bool = False) -> LeaseRequest:
        """The lease call of ``h`` (sent now): ask for tokens, only report, or give back."""
        h.last_call = now
        held = 0 if release else max(h.tokens, 0)
        wanted = max(0, h.limits.burst - held) if want else 0
        h.reported = held > 0 or wanted > 0
        request = LeaseRequest(key_id, self.holder, h.limits.rate, h.limits.burst, held, wanted,
                               released=max(h.tokens, 0) if release else 0,
                               spent=max(0, -h.tokens))
        if release:
            h.tokens = min(h.tokens, 0)
        return request

    def _due_leases(self, now: float) -> Batch:
        batch: Batch = []
        for key_id in list(self._wanted):
            h = self._holdings.get(key_id)
            if h is None:
                self._wanted.discard(key_id)
            elif h.next_lease <= now:
                self._wanted.discard(key_id)
                batch.append((key_id, h, self._request(key_id, h, now)))
        return batch

    def _maintenance(self, now: float, leasing: set[str]) -> Batch:
        """Give idle keys' tokens back, forget them once the bucket is full again, and renew
        holdings not reported for ``renew`` seconds."""
        batch: Batch = []
        for key_id, h in list(self._holdings.items()):
            if key_id in leasing or key_id in self._wanted:
                continue
            if now - h.last_demand >= self._idle_return:
                if h.reported or h.tokens < 0:
                    batch.append((key_id, h, self._request(key_id, h, now, want=False,
                                                           release=True)))
                elif now >= h.full_at:
                    del self._holdings[key_id]
            elif h.tokens > 0 and now - h.last_call >= self._renew:
                batch.append((key_id, h, self._request(key_id, h, now, want=False)))
        return batch

    def _apply(self, key_id: str, h: _Holding, request: LeaseRequest, grant: Grant,
               now: float) -> None:
        h.tokens += request.spent + grant.granted
        h.drained = grant.left < 1.0 - EPSILON
        h.credit = 0 if h.drained else max(0, self._allowance + min(h.tokens, 0))
        h.next_token_at = now + grant.wait
        h.full_at = now + max(0.0, h.limits.burst - grant.left) / h.limits.rate
        if not h.drained:
            h.spaced = False
        short = h.drained and grant.granted < request.want
        h.next_lease = now + max(grant.wait if short else 0.0, self._min_interval)
        if request.want > 0:
            h.target = max(1, h.tokens)
        if h.tokens < 0 or (h.tokens < 1 and request.want > 0 and h.last_demand >= h.last_call):
            self._wanted.add(key_id)

    def _next_due(self, now: float) -> float:
        due = self._next_maintenance
        for key_id in self._wanted:
            h = self._holdings.get(key_id)
            if h is not None and h.next_lease < due:
                due = h.next_lease
        return max(0.0, due - now)

    def _go_down(self, now: float, exc: Exception) -> None:
        log.warning("lease authority unavailable, limiting per worker: %s", exc)
        self._down_since = now
        self._holdings.clear()
        self._wanted.clear()
        self._fallback = LocalAuthority()

    async def _probe_authority(self, now: float) -> float:
        """While down: one lease that asks for nothing, ``down_retry`` apart."""
        assert self._down_since is not None
        if self._probe is None:
            return self._down_retry
        wait = self._down_since + self._down_retry - now
        if wait > 0:
            return wait
        key_id, limits = self._probe
        probe = LeaseRequest(key_id, self.holder, limits.rate, limits.burst, 0, 0)
        try:
            await self._authority.lease([probe])
        except AuthorityUnavailable:
            self._down_since = now
            return self._down_retry
        log.warning("lease authority answers again, leasing resumes")
        self._down_since = None
        self._probe = None
        return 0.0
