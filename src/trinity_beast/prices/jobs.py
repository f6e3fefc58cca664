"""Background price jobs, one ``async def run_…`` each: Tier 2 flush, REST prewarm poll."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.rest import RestClient, RestError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


async def flush_once(prices: PriceService) -> int:
    """Write every fresh Tier 1 quote to Tier 2 in one pipeline; returns how many were written."""
    quotes = prices.fresh_quotes()
    ok = await prices.mirror.put_many(quotes, prices.mirror_ttl())
    return len(quotes) if ok else 0


async def run_flusher(
    prices: PriceService, params: Parameters, sleep: Sleep = asyncio.sleep
) -> None:
    """Flush Tier 1 → Tier 2 every ``price_flush_interval_seconds`` (the seed's 30 s)."""
    while True:
        await sleep(params.get_float("price_flush_interval_seconds"))
        try:
            await flush_once(prices)
        except Exception:
            log.exception("price flush failed")


async def poll_once(exchange: str, rest: RestClient, book: PriceBook, params: Parameters) -> int:
    assets = params.get_assets(f"{exchange}_prewarm_assets")
    if not assets:
        return 0
    try:
        quotes = await rest.batch(exchange, assets)
    except RestError as exc:
        log.warning("prewarm poll failed", extra={"exchange": exchange, "reason": str(exc)})
        return 0
    book.update_many(quotes)
    return len(quotes)


def next_poll_delay(now: float, interval_s: float, offset_s: float) -> float:
    """Seconds until the next slot ``k·interval + offset`` of the wall clock (same on every node
    for the same offset, so give each node its own ``kraken_prewarm_offset_seconds``)."""
    slot = (now - offset_s) // interval_s + 1
    return max(0.0, slot * interval_s + offset_s - now)


async def run_prewarm_poll(
    exchange: str,
    rest: RestClient,
    book: PriceBook,
    params: Parameters,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> None:
    """The Kraken batch prewarm: one REST call for all its assets every few minutes."""
    while True:
        interval = params.get_int(f"{exchange}_prewarm_interval_minutes") * 60.0
        offset = float(params.get_int(f"{exchange}_prewarm_offset_seconds"))
        await sleep(next_poll_delay(clock(), interval, offset))
        await poll_once(exchange, rest, book, params)
