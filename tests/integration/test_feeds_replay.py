"""All six adapters, the shared connection loop and the price tiers against the replay exchange
over loopback (the bundled replay set: frames synthesized from recorded templates)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import EXCHANGE_FIXTURES
from trinity_beast.feeds.manager import FeedManager
from trinity_beast.feeds.registry import adapters
from trinity_beast.params.definitions import PREWARM_DEFAULTS
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.mirror import MemoryMirror
from trinity_beast.prices.rest import RestClient
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.replay.server import ReplayExchange

ALL_ASSETS = {a.upper() for assets in PREWARM_DEFAULTS.values() for a in assets.split(",")}
FAST = {
    "feed_idle_timeout_seconds": "1",
    "feed_backoff_initial_seconds": "0.05",
    "feed_backoff_max_seconds": "0.3",
    "feed_connect_stagger_ms": "0",
    "price_stale_seconds": "0.5",
}


async def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Rig:
    def __init__(self, exchange: ReplayExchange, params: Parameters) -> None:
        self.exchange = exchange
        self.params = params
        self.book = PriceBook()
        self.feeds = FeedManager(adapters(), self.book, params, urls=exchange.ws_urls())
        self.rest = RestClient(adapters(), exchange.rest_urls(), timeout=lambda: 2.0)
        self.prices = PriceService(self.book, MemoryMirror(), self.rest, self.feeds.statuses,
                                   adapters(), params)

    async def control(self, action: str, exchange: str) -> None:
        url = f"http://127.0.0.1:{self.exchange.port}/_replay/{action}?exchange={exchange}"
        async with aiohttp.ClientSession() as session, session.post(url) as response:
            assert response.status == 200


@pytest.fixture
def replay_dir(tmp_path: Path) -> Path:
    """The bundled set, with OKX's recorded live BTC-USDT trades (cryptofeed, 2022) appended."""
    for recording in DEFAULT_DIR.glob("*.jsonl"):
        shutil.copy(recording, tmp_path / recording.name)
    recorded = (EXCHANGE_FIXTURES / "okx" / "cryptofeed_2022-05-13_ws_trades.jsonl").read_text()
    with (tmp_path / "okx.jsonl").open("a", encoding="utf-8") as out:
        out.write(recorded)
    return tmp_path


@pytest.fixture
async def rig(replay_dir: Path) -> AsyncIterator[Rig]:
    exchange = ReplayExchange(replay_dir, interval=0.002)
    await exchange.start()
    rig = Rig(exchange, Parameters(FAST))
    rig.feeds.start()
    yield rig
    await rig.feeds.stop()
    await rig.rest.close()
    await exchange.stop()


def test_bundled_replay_set_covers_all_150_prewarmed_assets() -> None:
    exchange = ReplayExchange(DEFAULT_DIR)
    assert set(exchange.venues) == set(PREWARM_DEFAULTS)
    covered = {asset for venue in exchange.venues.values() for asset in venue.prices}
    assert len(ALL_ASSETS) == 144 and covered >= ALL_ASSETS


async def test_all_six_feeds_fill_the_book(rig: Rig) -> None:
    await eventually(lambda: set(rig.book.assets()) >= ALL_ASSETS)
    for name, status in rig.feeds.statuses.items():
        assert status.live, name
        assert status.malformed == 0, name
        assert status.subscribed == {a.upper() for a in PREWARM_DEFAULTS[name].split(",")}
    btc = rig.prices.local("BTC")
    assert btc is not None and btc.quote.source == "coinbase-ws" and btc.tier == "L1_MEMORY"
    assert rig.prices.local("KAS").quote.source == "okx-ws"  # type: ignore[union-attr]


async def test_exchange_killed_and_restarted_every_feed_reconnects(rig: Rig) -> None:
    await eventually(lambda: all(s.live for s in rig.feeds.statuses.values()))
    port = rig.exchange.port
    await rig.exchange.stop()
    await eventually(lambda: not any(s.connected for s in rig.feeds.statuses.values()))
    rig.book = rig.feeds.loops["okx"].book  # same object; cleared below to prove refill
    for loop in rig.feeds.loops.values():
        loop.book._latest.clear()
        loop.book._by_source.clear()
    await rig.exchange.start(port=port)
    await eventually(lambda: set(rig.book.assets()) >= ALL_ASSETS)
    for name, status in rig.feeds.statuses.items():
        assert status.live and status.reconnects >= 1 and status.connects >= 2, name
    served = rig.exchange.venues
    assert all(len(v.status()["subscribed"]) == 24 for v in served.values())  # type: ignore[arg-type]


async def test_silent_feed_goes_stale_and_rest_takes_over(rig: Rig) -> None:
    await eventually(lambda: rig.feeds.statuses["gemini"].live)
    await rig.control("silence", "gemini")
    await eventually(lambda: not rig.feeds.statuses["gemini"].live)
    assert rig.feeds.statuses["gemini"].state == "stale"
    await asyncio.sleep(0.6)  # past price_stale_seconds
    assert rig.prices.local("AAVE") is None
    answer = await rig.prices.lookup("AAVE")
    assert answer.tier == "L3_REST" and answer.quote.source == "gemini-rest"
    assert answer.cached is False and answer.cache_age_seconds == 0.0
    assert answer.quote.price == rig.exchange.venues["gemini"].prices["AAVE"]
    again = rig.prices.local("AAVE")  # within cache_ttl_seconds: served from memory
    assert again is not None and again.quote.source == "gemini-rest" and again.cached
    await rig.control("resume", "gemini")
    await eventually(lambda: rig.feeds.statuses["gemini"].live)


async def test_unknown_asset_and_shared_rest_calls(rig: Rig) -> None:
    from trinity_beast.errors import NotFound

    calls_before = rig.rest.calls
    results = await asyncio.gather(*(rig.prices.lookup("NOSUCHCOIN") for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, NotFound) and r.code == "unknown_asset" for r in results)
    assert rig.rest.calls - calls_before == 6  # one round: one call per exchange, shared
    with pytest.raises(NotFound):
        await rig.prices.lookup("NOSUCHCOIN")
    assert rig.rest.calls - calls_before == 6  # remembered as unknown


async def test_parameter_change_adds_and_removes_subscriptions_live(rig: Rig) -> None:
    await eventually(lambda: rig.feeds.statuses["okx"].live)
    connects = rig.feeds.statuses["okx"].connects
    okx = rig.exchange.venues["okx"]
    rig.params.apply({"okx_prewarm_assets": "kas,tia,btc"})
    await eventually(lambda: okx.status()["subscribed"] == ["BTC", "KAS", "TIA"])
    await eventually(lambda: rig.book.latest("BTC") is not None
                     and "okx-ws" in rig.book.by_source("BTC"))
    assert "okx-ws" not in rig.book.by_source("JUP")  # unsubscribed: its quote left the book
    assert rig.feeds.statuses["okx"].connects == connects  # same connection, no restart
    assert rig.feeds.statuses["okx"].subscribed == {"BTC", "KAS", "TIA"}
