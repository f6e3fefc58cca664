"""A running UDP LPO over loopback, built from the real parts, and a datagram client.

Every round-trip test runs on uvloop and the standard loop, with batched (``recvmmsg``) and
per-datagram (``DatagramProtocol``) I/O. Prices come from a real ``PriceBook`` (Tier 1), a real
``MemoryMirror`` (Tier 2) and the replay exchange's REST endpoints (Tier 3); keys from a real
``KeyCache``. The clock is fixed, so ages and signature windows are exact.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import uvloop

from tests.prices.helpers import FakeClock, quote
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.service import LpoService
from trinity_beast.errors import TooManyRequests
from trinity_beast.feeds.registry import adapters
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.hashing import generate_key, hash_key, new_key_id
from trinity_beast.keys.model import KeyRecord
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.mirror import MemoryMirror
from trinity_beast.prices.quote import Quote
from trinity_beast.prices.rest import RestClient
from trinity_beast.replay.recording import DEFAULT_DIR
from trinity_beast.replay.server import ReplayExchange
from trinity_beast.udp.guard import ReplyGuard
from trinity_beast.udp.limits import UdpLimits
from trinity_beast.udp.lpo import IoMode, UdpLpoServer
from trinity_beast.usage.record import UsageRecord

NOW = 1_767_225_600.0
"""2026-01-01T00:00:00Z, the tests' fixed wall clock."""
WAIT = 5.0
"""Seconds a reply may take before a test fails; generous on purpose."""


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Any]:
    return {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}


def key_record(plaintext: str, tier: str = "pro", *, revoked: bool = False) -> KeyRecord:
    moment = datetime.fromtimestamp(NOW, tz=UTC)
    return KeyRecord(id=new_key_id(), key_id=new_key_id(), key_hash=hash_key(plaintext),
                     tier=tier, query_limit=50_000, rate_limit_qps=10.0, burst_limit=20,
                     burst_tokens=20.0, minimum_wait_seconds=0.1, created_at=moment,
                     updated_at=moment, revoked=revoked)


class RecordingSink:
    """A usage sink that keeps what it is given, for assertions."""

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def submit(self, record: UsageRecord) -> None:
        self.records.append(record)


class RefuseKeys:
    """An admission that refuses the listed key ids (the real limiter lives elsewhere)."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.admitted = 0

    def admit(self, key: KeyRecord, now: float) -> None:
        if key.key_id in self.refused:
            raise TooManyRequests("rate limit exceeded", code="rate_limited", retry_after=0.5)
        self.admitted += 1


class GatedMirror(MemoryMirror):
    """The in-memory mirror, whose reads wait while ``gate`` is closed (to hold work slots)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = 0

    async def get(self, asset: str) -> Quote | None:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        return await super().get(asset)


@dataclass
class Rig:
    clock: FakeClock
    book: PriceBook
    mirror: GatedMirror
    prices: PriceService
    keys: KeyCache
    limiter: RefuseKeys
    sink: RecordingSink
    service: LpoService
    envelope: Envelope
    key: str
    record: KeyRecord
    revoked_key: str
    exchange: ReplayExchange
    servers: list[UdpLpoServer] = field(default_factory=list)
    clients: list[DatagramClient] = field(default_factory=list)

    async def server(self, io: IoMode, limits: UdpLimits | None = None,
                     guard: ReplyGuard | None = None, host: str = "127.0.0.1") -> UdpLpoServer:
        server = UdpLpoServer(self.service, self.envelope, limits=limits, guard=guard, io=io)
        await server.start(host, 0)
        self.servers.append(server)
        return server

    async def client(self, server: UdpLpoServer, host: str = "127.0.0.1") -> DatagramClient:
        client = await open_client(server.port, host)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        self.mirror.gate.set()
        for client in self.clients:
            client.close()
        for server in self.servers:
            await server.stop()


class DatagramClient(asyncio.DatagramProtocol):
    """One UDP socket talking to one server; replies queue up in arrival order.

    Sends go straight to the socket: asyncio's transports silently skip empty datagrams.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait(data)

    def send(self, data: bytes) -> None:
        self.sock.send(data)

    async def reply(self) -> bytes:
        return await asyncio.wait_for(self.replies.get(), WAIT)

    async def ask(self, data: bytes) -> bytes:
        self.send(data)
        return await self.reply()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def ask_json(self, body: object) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(await self.ask(json.dumps(body).encode()))
        return answer


async def open_client(port: int, host: str = "127.0.0.1") -> DatagramClient:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, port))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_datagram_endpoint(lambda: DatagramClient(sock), sock=sock)
    return client


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock(NOW)
    exchange = ReplayExchange(DEFAULT_DIR)
    await exchange.start()
    book, mirror = PriceBook(), GatedMirror(clock)
    statuses = {name: FeedStatus(name, idle_timeout=60, clock=clock) for name in adapters()}
    rest = RestClient(adapters(), exchange.rest_urls(), clock=clock)
    prices = PriceService(book, mirror, rest, statuses, adapters(), Parameters(), clock)
    book.update(quote("BTC", "83421.57", "coinbase-ws", at=NOW - 4.2))
    book.update(quote("SOL", "150.25", "okx-ws", at=NOW - 1.0, exchange_ts=NOW - 1.5))
    key, revoked_key = generate_key(), generate_key()
    keys = KeyCache()
    record = key_record(key)
    keys.replace_all([record, key_record(revoked_key, revoked=True)])
    limiter, sink = RefuseKeys(), RecordingSink()
    service = LpoService(prices, Authenticator(keys), limiter, sink, "BeastMain", clock)
    envelope = Envelope("LPO", "us-east-2", "BeastMain")
    rig = Rig(clock, book, mirror, prices, keys, limiter, sink, service, envelope, key, record,
              revoked_key, exchange)
    yield rig
    await rig.close()
    await rest.close()
    await exchange.stop()


@pytest.fixture(params=["mmsg", "protocol"])
async def server(request: pytest.FixtureRequest, rig: Rig) -> UdpLpoServer:
    io: IoMode = request.param
    return await rig.server(io)


@pytest.fixture
async def client(rig: Rig, server: UdpLpoServer) -> DatagramClient:
    return await rig.client(server)
