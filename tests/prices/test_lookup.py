"""Tier selection rules of PriceService with a fake clock (Tier 3 is covered against the
replay exchange in tests/integration/test_feeds_replay.py)."""

from __future__ import annotations

import pytest

from tests.prices.helpers import FakeClock, quote
from trinity_beast.errors import NotFound
from trinity_beast.feeds.registry import adapters
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.jobs import flush_once, next_poll_delay
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.mirror import MemoryMirror
from trinity_beast.prices.rest import RestClient


def service(clock: FakeClock, **overrides: str) -> tuple[PriceService, dict[str, FeedStatus]]:
    statuses = {name: FeedStatus(name, idle_timeout=60, clock=clock) for name in adapters()}
    params = Parameters({"price_stale_seconds": "60", **overrides})
    prices = PriceService(PriceBook(), MemoryMirror(clock), RestClient(adapters()), statuses,
                          adapters(), params, clock)
    return prices, statuses


def test_fresh_quote_served_from_memory_with_age() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    prices.book.update(quote("BTC", "100.1", "coinbase-ws", at=990.0))
    answer = prices.local("BTC")
    assert answer is not None
    assert (answer.tier, answer.cached, answer.cache_age_seconds) == ("L1_MEMORY", True, 10.0)


def test_old_quote_served_while_its_feed_is_live() -> None:
    clock = FakeClock(10_000.0)
    prices, statuses = service(clock)
    prices.book.update(quote("KILT", "0.5", "kraken-ws", at=1000.0))
    assert prices.local("KILT") is None  # old and the feed is not live
    statuses["kraken"].connected = True
    statuses["kraken"].last_data_at = 9990.0  # other assets' trades keep the feed live
    answer = prices.local("KILT")
    assert answer is not None and answer.cache_age_seconds == 9000.0


def test_stale_latest_falls_back_to_fresh_other_source() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    prices.book.update(quote("ETH", "10", "gemini-ws", at=950.0))
    prices.book.update(quote("ETH", "11", "okx-rest", at=995.0))  # REST ttl is 9 s
    assert prices.local("ETH").quote.source == "okx-rest"  # type: ignore[union-attr]
    clock.now = 1006.0  # REST quote expired, the gemini quote (56 s) is still fresh
    assert prices.local("ETH").quote.source == "gemini-ws"  # type: ignore[union-attr]
    clock.now = 1011.0
    assert prices.local("ETH") is None


def test_kraken_prewarm_quote_lives_one_poll_interval_plus_a_minute() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    prices.book.update(quote("ALGO", "0.2", "kraken-prewarm", at=1000.0))
    clock.now = 1000.0 + 3 * 60 + 59
    assert prices.local("ALGO") is not None
    clock.now = 1000.0 + 3 * 60 + 61
    assert prices.local("ALGO") is None


async def test_tier2_answers_when_memory_misses() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    await prices.mirror.put_many([quote("SOL", "150.25", "coinbase-ws", at=990.0)], 240)
    answer = await prices.lookup("SOL")
    assert (answer.tier, answer.cached, answer.cache_age_seconds) == ("L2_VALKEY", True, 10.0)
    assert answer.quote.price == "150.25"


async def test_flush_writes_only_fresh_quotes() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    prices.book.update(quote("BTC", "1", "coinbase-ws", at=999.0))
    prices.book.update(quote("OLD", "1", "coinbase-ws", at=100.0))
    assert await flush_once(prices) == 1
    assert await prices.mirror.get("BTC") is not None
    assert await prices.mirror.get("OLD") is None


async def test_remembered_unknown_asset_is_not_fetched_again() -> None:
    clock = FakeClock(1000.0)
    prices, _ = service(clock)
    prices._unknown["ZZZ"] = 1300.0
    with pytest.raises(NotFound):
        await prices.lookup("ZZZ")
    assert prices.rest.calls == 0


def test_home_exchange_follows_parameters() -> None:
    prices, _ = service(FakeClock())
    assert prices.home_exchange("BTC") == "coinbase"
    prices.params.apply({"coinbase_prewarm_assets": "eth", "okx_prewarm_assets": "btc"})
    assert prices.home_exchange("BTC") == "okx"
    assert prices.home_exchange("SOL") is None


@pytest.mark.parametrize(("now", "expected"), [(0.0, 15.0), (15.0, 180.0), (100.0, 95.0)])
def test_prewarm_poll_slots(now: float, expected: float) -> None:
    assert next_poll_delay(now, 180.0, 15.0) == expected
