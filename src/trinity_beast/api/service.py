"""The transport-neutral LPO service: authorize → admit → look up → log.

HTTP and UDP front-ends decode a request, call these methods, and encode what they return.
``authorize`` and the ``*_local`` lookups never await; the ``async`` variants reach Tier 2/3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from trinity_beast.api.callers import Authenticator
from trinity_beast.errors import BeastError, Unavailable
from trinity_beast.keys.model import KeyRecord
from trinity_beast.limits.admission import Admission
from trinity_beast.prices.lookup import Answer, PriceService
from trinity_beast.usage.ids import new_record_id
from trinity_beast.usage.record import UsageRecord, UsageSink

MAX_BATCH = 30


class LpoService:
    def __init__(self, prices: PriceService, auth: Authenticator, limiter: Admission,
                 usage: UsageSink, node: str, clock: Callable[[], float] = time.time, *,
                 usage_backlogged: Callable[[], bool] | None = None) -> None:
        self.prices = prices
        self.auth = auth
        self.limiter = limiter
        self.usage = usage
        self.node = node
        self.clock = clock
        self.usage_backlogged = usage_backlogged
        """True while the usage log cannot take another record (its buffer is full); ``None``
        for a sink that never fills."""

    def authorize(self, presented_key: str) -> KeyRecord:
        """The caller's key record, admitted by the limiter (raises ``Unauthorized`` or
        ``TooManyRequests``). One call per request, batch or not.

        While the usage log is backlogged the request is refused (503 ``overloaded``, retry
        after a second) before any work: an answer that could not be logged would be a
        request nobody pays for, so load is shed instead of records.
        """
        if self.usage_backlogged is not None and self.usage_backlogged():
            raise Unavailable("the service is catching up on its usage log; retry shortly",
                              code="overloaded", retry_after=1.0)
        key = self.auth.from_key(presented_key)
        self.limiter.admit(key, self.clock())
        return key

    def log(self, key: KeyRecord, endpoint: str, protocol: str, started: float, status: int,
            answers: Sequence[Answer] = (), asset: str | None = None,
            count: int = 1) -> None:
        """Hand one usage record to the sink (after the answer is built; never raises)."""
        first = answers[0] if answers else None
        self.usage.submit(UsageRecord(
            id=new_record_id(), api_key_id=key.key_id,
            asset=asset if asset is not None else (first.quote.asset if first else None),
            assets_count=count, source=first.quote.source if first else None,
            cache_tier=first.tier if first else None,
            response_time_us=int((time.perf_counter() - started) * 1_000_000),
            status=status, endpoint=endpoint, protocol=protocol, node=self.node,
            created_at=self.clock(),
        ))

    async def lookup_many(self, assets: Sequence[str]) -> list[Answer | BeastError]:
        """Each asset's answer or its own error: one unknown asset does not fail a batch."""
        results: list[Answer | BeastError] = []
        for asset in assets:
            local = self.prices.local(asset)
            if local is not None:
                results.append(local)
                continue
            try:
                results.append(await self.prices.lookup(asset))
            except BeastError as exc:
                results.append(exc)
        return results
