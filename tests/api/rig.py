"""A running LPO HTTP listener over a real PriceService, for API tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.prices.helpers import quote
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.health import HealthView
from trinity_beast.api.http_lpo import LpoRoutes
from trinity_beast.api.router import HttpApp
from trinity_beast.api.service import LpoService
from trinity_beast.feeds.registry import adapters
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.http import HttpServer
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.hashing import hash_key
from trinity_beast.keys.model import KeyRecord
from trinity_beast.limits.admission import Admission, AdmitAll
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.mirror import MemoryMirror
from trinity_beast.prices.rest import RestClient
from trinity_beast.replay.server import ReplayExchange
from trinity_beast.usage.record import UsageRecord

GOOD_KEY = "tbk_test-good-key"
REVOKED_KEY = "tbk_test-revoked-key"


def key_record(plaintext: str, key_id: str, *, revoked: bool = False,
               tier: str = "pro") -> KeyRecord:
    now = datetime.now(UTC)
    return KeyRecord(id=key_id, key_id=key_id, key_hash=hash_key(plaintext), tier=tier,
                     query_limit=50_000, rate_limit_qps=10, burst_limit=20, burst_tokens=20,
                     minimum_wait_seconds=0.1, created_at=now, updated_at=now, revoked=revoked)


class ListSink:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def submit(self, record: UsageRecord) -> None:
        self.records.append(record)


class LpoRig:
    def __init__(self, server: HttpServer, book: PriceBook, usage: ListSink,
                 prices: PriceService, app: HttpApp, service: LpoService) -> None:
        self.app = app
        self.service = service
        self.server = server
        self.book = book
        self.usage = usage
        self.prices = prices

    def server_app_routes(self) -> dict[str, dict[str, object]]:
        return {path: dict(methods) for path, methods in self.app.routes.items()}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@asynccontextmanager
async def lpo_rig(replay_dir: Path, limiter: Admission | None = None) -> AsyncIterator[LpoRig]:
    """A listener whose Tier 3 is the replay exchange (serving ``replay_dir``)."""
    exchange = ReplayExchange(replay_dir)
    await exchange.start()
    params = Parameters()
    book = PriceBook()
    statuses = {name: FeedStatus(name) for name in adapters()}
    rest = RestClient(adapters(), exchange.rest_urls())
    prices = PriceService(book, MemoryMirror(), rest, statuses, adapters(), params)
    keys = KeyCache()
    keys.put(key_record(GOOD_KEY, "ak_live_good00000001"))
    keys.put(key_record(REVOKED_KEY, "ak_live_revoked00001", revoked=True))
    usage = ListSink()
    envelope = Envelope("LPO", "test", "BeastTest")
    service = LpoService(prices, Authenticator(keys), limiter or AdmitAll(), usage, "BeastTest")
    health = HealthView(envelope, "APP_SERVER", statuses, adapters(), book, params)
    app = HttpApp(envelope, LpoRoutes(service, envelope, health).table())
    server = HttpServer(app, error_factory=app.error_factory)
    await server.start("127.0.0.1", 0)
    book.update(quote("BTC", "83371.08000", "coinbase-ws", at=time.time()))
    try:
        yield LpoRig(server, book, usage, prices, app, service)
    finally:
        await server.shutdown(1.0)
        await rest.close()
        await exchange.stop()
