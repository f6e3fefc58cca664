"""The cache interface, the same tests on the in-process cache and on the real Valkey."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from trinity_beast.cache.base import Cache, CacheUnavailable
from trinity_beast.cache.memory import MemoryCache
from trinity_beast.cache.valkey import ValkeyCache, redis_client
from trinity_beast.params.values import Parameters


@pytest.fixture(params=["memory", "valkey"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        memory = MemoryCache()
        yield memory
        await memory.aclose()
        return
    request.getfixturevalue("redis_available")
    prefix = f"test:{uuid.uuid4().hex}:"
    valkey = ValkeyCache(redis_client(REDIS_URL, Parameters()), prefix)
    yield valkey
    keys = [key async for key in valkey.client.scan_iter(match=f"{prefix}*")]
    if keys:
        await valkey.client.delete(*keys)
    await valkey.aclose()


async def test_hash_replace_and_read(cache: Cache) -> None:
    assert await cache.hash_get_all("h") == {}
    await cache.hash_replace("h", {"a": "1", "b": "2"})
    await cache.hash_replace("h", {"b": "3"})
    assert await cache.hash_get_all("h") == {"b": "3"}
    await cache.hash_replace("h", {})
    assert await cache.hash_get_all("h") == {}


async def test_publish_reaches_every_subscriber_in_order(cache: Cache) -> None:
    first = await cache.subscribe("ch")
    second = await cache.subscribe("ch")
    try:
        assert await cache.publish("ch", "one") == 2
        assert await cache.publish("ch", "two") == 2
        assert [await first.get(), await first.get()] == ["one", "two"]
        received = []
        async for message in second:
            received.append(message)
            if len(received) == 2:
                break
        assert received == ["one", "two"]
    finally:
        await first.aclose()
    assert await cache.publish("ch", "three") == 1
    assert await second.get() == "three"
    await second.aclose()
    assert await cache.publish("ch", "four") == 0


async def test_valkey_names_carry_the_prefix(redis_available: None) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    cache = ValkeyCache(redis_client(REDIS_URL, Parameters()), prefix)
    raw = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await cache.hash_replace("app:config", {"qps": "3.0"})
        assert await raw.hgetall(f"{prefix}app:config") == {"qps": "3.0"}
        assert cache.key("keys:invalidate") == f"{prefix}keys:invalidate"
    finally:
        await raw.delete(f"{prefix}app:config")
        await raw.aclose()
        await cache.aclose()


async def test_client_uses_the_seed_timeouts_and_pool() -> None:
    params = Parameters({"cache_dial_timeout_ms": "250", "cache_read_timeout_ms": "400",
                         "cache_write_timeout_ms": "700", "cache_pool_size": "12",
                         "cache_max_retries": "2"})
    client = redis_client("redis://127.0.0.1:6379/0", params)
    try:
        pool = client.connection_pool
        assert pool.connection_kwargs["socket_connect_timeout"] == 0.25
        assert pool.connection_kwargs["socket_timeout"] == 0.7
        assert pool.max_connections == 12
        assert client.get_retry()._retries == 2  # type: ignore[union-attr]
    finally:
        await client.aclose()


async def test_unreachable_valkey_is_reported_as_unavailable() -> None:
    params = Parameters({"cache_max_retries": "0", "cache_dial_timeout_ms": "200"})
    cache = ValkeyCache(redis_client("redis://127.0.0.1:1/0", params))
    try:
        with pytest.raises(CacheUnavailable) as caught:
            await cache.hash_get_all("app:config")
        assert str(caught.value).startswith("Valkey HGETALL failed: ")
    finally:
        await cache.aclose()
