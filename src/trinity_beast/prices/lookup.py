"""The three-tier price lookup: Tier 1 book → Tier 2 mirror → Tier 3 REST.

:meth:`PriceService.local` answers from memory and never awaits; :meth:`PriceService.lookup`
adds the network tiers. Concurrent lookups of the same missing asset share one REST round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Literal, NamedTuple

from trinity_beast.errors import NotFound, Unavailable
from trinity_beast.feeds.base import ExchangeAdapter
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.params.values import Parameters
from trinity_beast.prices.aggregate import Aggregate, median_aggregate
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.mirror import PriceMirror
from trinity_beast.prices.quote import Quote
from trinity_beast.prices.rest import RestClient, RestMiss, RestUnavailable

log = logging.getLogger(__name__)

Tier = Literal["L1_MEMORY", "L2_VALKEY", "L3_REST"]
PREWARM_SOURCE = "kraken-prewarm"


class Answer(NamedTuple):
    quote: Quote
    tier: Tier
    cached: bool
    cache_age_seconds: float


class PriceService:
    def __init__(
        self,
        book: PriceBook,
        mirror: PriceMirror,
        rest: RestClient,
        statuses: Mapping[str, FeedStatus],
        adapters: Mapping[str, ExchangeAdapter],
        params: Parameters,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = book
        self.mirror = mirror
        self.rest = rest
        self.statuses = statuses
        self.params = params
        self._clock = clock
        self._feed_of = {a.source: name for name, a in adapters.items()}
        self._rest_sources = {a.rest_source for a in adapters.values()}
        self._exchanges = list(adapters)
        self._home: dict[str, str] = {}
        self._learned: dict[str, str] = {}
        self._unknown: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Task[Answer]] = {}
        self._background: set[asyncio.Task[bool]] = set()
        self._read_params(params, frozenset())
        params.subscribe(self._read_params)

    def _read_params(self, params: Parameters, _changed: frozenset[str]) -> None:
        home: dict[str, str] = {}
        for exchange in self._exchanges:
            for asset in params.get_assets(f"{exchange}_prewarm_assets"):
                home.setdefault(asset, exchange)
        self._home = home
        self._stale = params.get_float("price_stale_seconds")
        self._rest_ttl = float(params.get_int("cache_ttl_seconds"))
        self._prewarm_ttl = params.get_int("kraken_prewarm_interval_minutes") * 60.0 + 60.0
        self._unknown_ttl = float(params.get_int("unknown_asset_ttl_seconds"))
        order = [e.strip() for e in params.get_str("rest_preference").split(",")]
        self._preference = [e for e in order if e in self._exchanges] + [
            e for e in self._exchanges if e not in order
        ]

    def home_exchange(self, asset: str) -> str | None:
        """The exchange whose feed subscribes ``asset`` (from the prewarm parameters)."""
        return self._home.get(asset)

    def is_fresh(self, quote: Quote, now: float) -> bool:
        age = now - quote.received_ts
        exchange = self._feed_of.get(quote.source)
        if exchange is not None:
            status = self.statuses.get(exchange)
            return age <= self._stale or (status is not None and status.live)
        if quote.source in self._rest_sources:
            return age <= self._rest_ttl
        if quote.source == PREWARM_SOURCE:
            return age <= self._prewarm_ttl
        return age <= self._stale

    def local(self, asset: str) -> Answer | None:
        """Tier 1: the freshest quote from a healthy source, or ``None``. Never awaits."""
        now = self._clock()
        latest = self.book.latest(asset)
        if latest is None:
            return None
        if not self.is_fresh(latest, now):
            fresh = [q for q in self.book.by_source(asset).values() if self.is_fresh(q, now)]
            if not fresh:
                return None
            latest = max(fresh, key=lambda q: q.received_ts)
        return Answer(latest, "L1_MEMORY", True, max(0.0, now - latest.received_ts))

    async def lookup(self, asset: str) -> Answer:
        """Every tier. Raises :class:`NotFound` (no exchange lists it) or :class:`Unavailable`."""
        answer = self.local(asset)
        if answer is not None:
            return answer
        task = self._inflight.get(asset)
        if task is None:
            task = asyncio.ensure_future(self._remote(asset))
            self._inflight[asset] = task
            task.add_done_callback(lambda _t: self._inflight.pop(asset, None))
        return await asyncio.shield(task)

    async def _remote(self, asset: str) -> Answer:
        now = self._clock()
        stored = await self.mirror.get(asset)
        if stored is not None and now - stored.received_ts <= self._stale:
            return Answer(stored, "L2_VALKEY", True, max(0.0, now - stored.received_ts))
        unknown_until = self._unknown.get(asset)
        if unknown_until is not None and unknown_until > now:
            raise NotFound(f"no exchange lists {asset}", code="unknown_asset")
        quote = await self._from_rest(asset)
        self.book.update(quote)
        self._spawn(self.mirror.put_many([quote], self.mirror_ttl()))
        return Answer(quote, "L3_REST", False, 0.0)

    async def _from_rest(self, asset: str) -> Quote:
        home = self._home.get(asset)
        candidates = [home] if home else self._candidates(asset)
        tasks = {e: asyncio.ensure_future(self.rest.ticker(e, asset)) for e in candidates}
        await asyncio.wait(tasks.values())
        reasons: list[str] = []
        unavailable = False
        for exchange in candidates:
            exc = tasks[exchange].exception()
            if exc is None:
                self._learned[asset] = exchange
                return tasks[exchange].result()
            unavailable |= isinstance(exc, RestUnavailable)
            reasons.append(str(exc))
            if not isinstance(exc, RestMiss | RestUnavailable):
                log.error("REST lookup failed", exc_info=exc)
        if unavailable or home:
            raise Unavailable(f"no fresh price for {asset}: " + "; ".join(reasons),
                              code="no_price")
        self._unknown[asset] = self._clock() + self._unknown_ttl
        raise NotFound(f"no exchange lists {asset}", code="unknown_asset")

    def _candidates(self, asset: str) -> list[str]:
        learned = self._learned.get(asset)
        return [learned] if learned else list(self._preference)

    def mirror_ttl(self) -> int:
        """TTL of ``price:{ASSET}``: the prewarm interval plus 60 s (API.md §6.1)."""
        return self.params.get_int("prewarm_interval") * 60 + 60

    def fresh_quotes(self) -> list[Quote]:
        now = self._clock()
        return [q for q in self.book if self.is_fresh(q, now)]

    def aggregate(self, asset: str) -> Aggregate:
        """Median of every fresh source's quote (raises ``NotEnoughProviders``)."""
        now = self._clock()
        quotes = [q for q in self.book.by_source(asset).values() if self.is_fresh(q, now)]
        return median_aggregate(
            asset, quotes,
            min_providers=self.params.get_int("aggregate_min_providers"),
            max_deviation_pct=self.params.get_float("aggregate_max_deviation_pct"),
        )

    def _spawn(self, coro: Coroutine[object, object, bool]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
