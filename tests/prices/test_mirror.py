from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from tests.prices.helpers import FakeClock, quote
from tests.redis_process import RedisProcess
from trinity_beast.prices.mirror import MemoryMirror, RedisMirror, decode_record, encode_record


def test_record_round_trip_keeps_digits() -> None:
    original = quote("KILT", "0.0123400", "kraken-ws", at=1790769600.25, exchange_ts=1790769599.5)
    data = encode_record(original)
    assert b'"price":0.0123400' in data
    assert b'"readable_timestamp":"2026-09-30 12:00:00 UTC"' in data
    assert decode_record(data) == original


def test_decode_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="bad price record"):
        decode_record(b"{not json")
    with pytest.raises(ValueError, match="price"):
        decode_record(encode_record(quote("A", "1")).replace(b'"price":1', b'"price":0'))


async def test_memory_mirror_expires() -> None:
    clock = FakeClock(0.0)
    mirror = MemoryMirror(clock)
    assert await mirror.put_many([quote("BTC", "1.5")], ttl_seconds=10)
    assert (await mirror.get("BTC")).price == "1.5"  # type: ignore[union-attr]
    clock.now = 11.0
    assert await mirror.get("BTC") is None


@pytest.fixture
async def shared_redis(redis_available: None) -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(REDIS_URL)
    prefix = f"test:{uuid.uuid4().hex}:"
    yield client, prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_mirror_pipeline_and_ttl(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    mirror = RedisMirror(client, prefix=prefix)
    quotes = [quote("BTC", "83371.08000"), quote("ETH", "3187.44", "gemini-ws")]
    assert await mirror.put_many(quotes, ttl_seconds=240)
    assert (await mirror.get("BTC")) == quotes[0]
    assert (await mirror.get("ETH")) == quotes[1]
    assert await mirror.get("DOGE") is None
    ttl = await client.ttl(f"{prefix}price:BTC")
    assert 200 < ttl <= 240


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_redis_stopped_and_back(private_redis: RedisProcess) -> None:
    client = Redis.from_url(private_redis.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    mirror = RedisMirror(client, timeout=0.5)
    try:
        assert await mirror.put_many([quote("BTC", "1.1")], 60)
        private_redis.stop()
        assert not await mirror.put_many([quote("BTC", "1.2")], 60)
        assert await mirror.get("BTC") is None
        assert mirror.failures == 2
        private_redis.start()  # a fresh, empty server on the same port
        assert await mirror.put_many([quote("BTC", "1.3")], 60)
        assert (await mirror.get("BTC")).price == "1.3"  # type: ignore[union-attr]
    finally:
        await client.aclose()
