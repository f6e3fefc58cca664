"""LRS fixtures: a migrated database of each backend, keys, a fake clock, the service, and the
HTTP and UDP front-ends listening on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiohttp
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.db.backends import database_url, engine
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.router import HttpApp
from trinity_beast.db.engine import begin
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.schema import usage_logs
from trinity_beast.http import HttpServer
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.model import KeyRecord
from trinity_beast.lrs.http import LrsRoutes
from trinity_beast.lrs.service import LrsService
from trinity_beast.lrs.udp import UdpLrsServer
from trinity_beast.params.values import Parameters

__all__ = ["database_url", "engine"]

START = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
"""The fake clock's start: a Saturday noon, mid-month."""


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Caller:
    key: str
    record: KeyRecord

    @property
    def key_id(self) -> str:
        return self.record.key_id

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def key_cache() -> KeyCache:
    return KeyCache()


NewKey = Callable[..., Any]


@pytest.fixture
def new_key(engine: AsyncEngine, key_cache: KeyCache) -> NewKey:
    """``await new_key("pro", lrs=False)``: a key in the database and in the cache."""
    store = SqlKeyStore(engine)

    async def create(tier: str = "free", *, lrs: bool = False) -> Caller:
        plaintext, record = await store.create(tier, lrs=lrs)
        key_cache.put(record)
        return Caller(plaintext, record)

    return create


@pytest.fixture
def params() -> Parameters:
    return Parameters()


@pytest.fixture
def service(engine: AsyncEngine, key_cache: KeyCache, params: Parameters,
            clock: FakeClock) -> LrsService:
    return LrsService(engine, Authenticator(key_cache), params,
                      Envelope("LRS", "test-region", "TestNode"), clock=clock)


@pytest.fixture
async def http_url(service: LrsService) -> AsyncIterator[str]:
    """Base URL of an HttpServer serving the LRS route table."""
    app = HttpApp(service.envelope, LrsRoutes(service).table())
    server = HttpServer(app, error_factory=app.error_factory)
    await server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.port}"
    await server.shutdown(grace=1.0)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def udp_server(service: LrsService, params: Parameters) -> AsyncIterator[UdpLrsServer]:
    server = UdpLrsServer(service, params)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


class UdpClient(asyncio.DatagramProtocol):
    """One UDP socket on loopback: send a datagram, await the next answer."""

    def __init__(self) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # not a subclass on 3.11

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.answers.put_nowait(data)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data)

    async def ask(self, request: dict[str, Any] | bytes) -> dict[str, Any]:
        self.send(request if isinstance(request, bytes) else msgspec.json.encode(request))
        data = await asyncio.wait_for(self.answers.get(), 5.0)
        answer: dict[str, Any] = msgspec.json.decode(data)
        answer["_bytes"] = len(data)
        return answer


@pytest.fixture
async def udp(udp_server: UdpLrsServer) -> AsyncIterator[UdpClient]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        UdpClient, remote_addr=("127.0.0.1", udp_server.port))
    yield client
    transport.close()


def usage_row(key_id: str, created_at: datetime, *, row_id: str | None = None,
              asset: str | None = "BTC", source: str | None = "coinbase-ws",
              cache_tier: str | None = "L1_MEMORY", response_time_us: int = 10,
              status: int = 200, endpoint: str = "/price", protocol: str = "http",
              node: str = "BeastMain") -> dict[str, Any]:
    return {
        "id": row_id or hashlib.sha256(
            f"{key_id}|{created_at.isoformat()}|{asset}|{status}".encode()).hexdigest()[:32],
        "api_key_id": key_id, "asset": asset, "assets_count": 1, "source": source,
        "cache_tier": cache_tier, "response_time_us": response_time_us, "status": status,
        "endpoint": endpoint, "protocol": protocol, "node": node, "created_at": created_at,
    }


async def insert_rows(engine: AsyncEngine, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        async with begin(engine) as conn:
            await conn.execute(usage_logs.insert(), batch)


def minutes_ago(minutes: float) -> datetime:
    return START - timedelta(minutes=minutes)
