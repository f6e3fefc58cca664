"""The :class:`~.admission.Admission` of the LPO: per-key rate limits and monthly quotas.

One call per request (a ``POST /prices`` batch is one request), from memory only:

1. tier ``partner`` → admitted, nothing counted (API.md §4, §10);
2. monthly quota (``query_limit``; ``None`` = none) → ``429 quota_exceeded``, retry at the
   start of the next UTC month;
3. token bucket (``rate_limit_qps``/``burst_limit``/``minimum_wait_seconds``; a ``None`` rate
   = no rate limit) through a :class:`RateGate` → ``429 rate_limited`` with the seconds until a
   token; the demo key (tier ``demo``) uses the live ``qps``/``burst`` parameters instead;
4. the request is counted against the quota.

A refused request costs neither a token nor quota. A fresher :class:`KeyRecord` (the key cache
replaced it: new ``current_usage``, tier or limits) is taken in by the next ``admit`` of that
key, so the cache needs no extra wiring.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

from trinity_beast.errors import TooManyRequests
from trinity_beast.keys.model import KeyRecord
from trinity_beast.limits.bucket import RateLimits
from trinity_beast.limits.lease import LocalAuthority, Sleep
from trinity_beast.limits.quota import QuotaCounter
from trinity_beast.params.values import Parameters

PARTNER_TIER = "partner"
DEMO_TIER = "demo"
MIN_RATE = 0.001
"""A stored rate of zero or less is read as this (one request per ~17 minutes), not as none."""


class RateGate(Protocol):
    """Where the token buckets are: :class:`~.lease.LocalAuthority` (one process, exact) or
    :class:`~.leased.LeasedRate` (tokens leased from an authority shared by workers/nodes)."""

    def take(self, key_id: str, limits: RateLimits, now: float) -> float | None:
        """``None`` when admitted, else the seconds until a request would be."""
        ...

    async def run(self, sleep: Sleep = asyncio.sleep) -> None:
        """The gate's background work (leases, pruning); runs until cancelled."""
        ...


def limits_of(record: KeyRecord) -> RateLimits | None:
    """The rate limits a key row states; ``None`` when it has no rate limit. A rate without a
    burst gets a burst of one second's worth."""
    if record.rate_limit_qps is None:
        return None
    rate = max(record.rate_limit_qps, MIN_RATE)
    burst = record.burst_limit if record.burst_limit is not None else math.ceil(rate)
    return RateLimits(rate, max(1, burst), max(0.0, record.minimum_wait_seconds))


class _KeyState:
    __slots__ = ("generation", "limits", "quota", "record")

    def __init__(self, record: KeyRecord, limits: RateLimits | None, quota: QuotaCounter | None,
                 generation: int) -> None:
        self.record = record
        self.limits = limits
        self.quota = quota
        self.generation = generation


class Limiter:
    def __init__(self, params: Parameters, gate: RateGate | None = None) -> None:
        self.gate: RateGate = gate if gate is not None else LocalAuthority()
        self._params = params
        self._generation = 0
        """Bumped when ``qps``/``burst`` change, so the demo key's limits are re-read."""
        self._states: dict[str, _KeyState] = {}
        params.subscribe(self._on_params)

    def admit(self, key: KeyRecord, now: float) -> None:
        if key.tier == PARTNER_TIER:
            return
        state = self._states.get(key.key_id)
        if state is None or state.record is not key or state.generation != self._generation:
            state = self._observe(key, state, now)
        quota = state.quota
        if quota is not None:
            wait = quota.refused_for(now)
            if wait is not None:
                raise TooManyRequests(
                    f"the monthly quota of {quota.limit} requests is used up",
                    code="quota_exceeded", retry_after=wait)
        limits = state.limits
        if limits is not None:
            wait = self.gate.take(key.key_id, limits, now)
            if wait is not None:
                raise TooManyRequests(
                    f"rate limit: {limits.rate:g} requests per second, burst {limits.burst}",
                    code="rate_limited", retry_after=wait)
        if quota is not None:
            quota.count()

    async def run(self, sleep: Sleep = asyncio.sleep) -> None:
        """The background work of the gate; spawn once per worker."""
        await self.gate.run(sleep)

    def _observe(self, key: KeyRecord, state: _KeyState | None, now: float) -> _KeyState:
        limits = self._limits(key)
        if state is None:
            quota = None if key.query_limit is None else QuotaCounter(key, key.query_limit, now)
            state = self._states[key.key_id] = _KeyState(key, limits, quota, self._generation)
            return state
        state.record = key
        state.limits = limits
        state.generation = self._generation
        if key.query_limit is None:
            state.quota = None
        elif state.quota is None:
            state.quota = QuotaCounter(key, key.query_limit, now)
        else:
            state.quota.observe(key)
        return state

    def _limits(self, key: KeyRecord) -> RateLimits | None:
        if key.tier != DEMO_TIER:
            return limits_of(key)
        return RateLimits(max(self._params.get_float("qps"), MIN_RATE),
                          max(1, self._params.get_int("burst")),
                          max(0.0, key.minimum_wait_seconds))

    def _on_params(self, params: Parameters, changed: frozenset[str]) -> None:
        if "qps" in changed or "burst" in changed:
            self._generation += 1
