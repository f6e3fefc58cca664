"""The hot-path key cache over the real SQL store (SQLite and PostgreSQL): the key lifecycle."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.cache.memory import MemoryCache
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.keys.cache import INVALIDATE_CHANNEL, KeyCache
from trinity_beast.keys.model import KeyRecord


@pytest.fixture
def store(engine: AsyncEngine) -> SqlKeyStore:
    return SqlKeyStore(engine)


async def test_lifecycle_create_verify_revoke_invalidate(store: SqlKeyStore) -> None:
    cache = KeyCache()
    key, record = await store.create("pro", email="a@example.org")
    assert await cache.refresh_all(store) == 1
    assert cache.lookup(key) == record
    assert cache.lookup(key[:-1]) is None
    assert cache.lookup("") is None

    await store.revoke(record.key_id)
    stale = cache.lookup(key)
    assert stale is not None
    assert stale.revoked is False  # no I/O on lookup: the cache knows only after invalidation

    fresh = await cache.invalidate(store, record.key_id)
    assert fresh is not None
    assert fresh.revoked is True
    cached = cache.lookup(key)
    assert cached is not None
    assert cached.revoked is True


async def test_invalidate_by_the_key_itself(store: SqlKeyStore) -> None:
    cache = KeyCache()
    key, record = await store.create("free")
    await cache.refresh_all(store)
    await store.set_tier(record.key_id, "enterprise")
    fresh = await cache.invalidate(store, key)
    assert fresh is not None
    assert fresh.tier == "enterprise"
    assert cache.get(record.key_id) == fresh


async def test_invalidate_picks_up_a_key_created_elsewhere(store: SqlKeyStore) -> None:
    cache = KeyCache()
    await cache.refresh_all(store)
    key, record = await store.create("lifetime")
    assert cache.lookup(key) is None
    assert await cache.invalidate(store, record.key_id) == record
    assert cache.lookup(key) == record


async def test_invalidating_an_unknown_id_removes_nothing_else(store: SqlKeyStore) -> None:
    cache = KeyCache()
    key, _ = await store.create("free")
    await cache.refresh_all(store)
    assert await cache.invalidate(store, "ak_live_gone00000000") is None
    assert len(cache) == 1
    assert cache.lookup(key) is not None


async def test_refresh_changed_applies_only_newer_rows(store: SqlKeyStore) -> None:
    cache = KeyCache()
    key_a, a = await store.create("free")
    _, b = await store.create("pro")
    await cache.refresh_all(store)
    assert cache.high_water == b.updated_at

    upgraded = await store.set_tier(a.key_id, "pro")
    key_c, c = await store.create("partner")
    assert await cache.refresh_changed(store) == 3  # b again (same instant), a, c
    assert cache.lookup(key_a) == upgraded
    assert cache.lookup(key_c) == c
    assert cache.high_water == max(upgraded.updated_at, c.updated_at)
    assert len(cache) == 3


async def test_refresh_changed_on_an_empty_cache_loads_everything(store: SqlKeyStore) -> None:
    cache = KeyCache()
    await store.create("free")
    await store.ensure_demo_key("demo-public-2026-03-01-abc123")
    assert cache.high_water is None
    assert await cache.refresh_changed(store) == 2
    assert cache.lookup("demo-public-2026-03-01-abc123") is not None


async def test_replace_all_drops_keys_that_are_gone(store: SqlKeyStore) -> None:
    cache = KeyCache()
    key, record = await store.create("free")
    await cache.refresh_all(store)
    cache.replace_all([])
    assert cache.lookup(key) is None
    assert cache.get(record.key_id) is None
    assert cache.high_water is None
    assert not cache.remove(record.key_id)


class FetchSignallingStore(SqlKeyStore):
    """The real SQL store, also setting an event after each fetch by key id."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.fetched = asyncio.Event()

    async def get(self, key_id: str) -> KeyRecord | None:
        record = await super().get(key_id)
        self.fetched.set()
        return record


async def test_follow_applies_published_invalidations(engine: AsyncEngine) -> None:
    store = FetchSignallingStore(engine)
    bus = MemoryCache()
    cache = KeyCache()
    key, record = await store.create("pro")
    await cache.refresh_all(store)
    subscription = await bus.subscribe(INVALIDATE_CHANNEL)
    task = asyncio.create_task(cache.follow(store, subscription))
    try:
        await store.revoke(record.key_id)
        assert await bus.publish(INVALIDATE_CHANNEL, record.key_id) == 1
        await asyncio.wait_for(store.fetched.wait(), 5)
        cached = cache.lookup(key)
        assert cached is not None
        assert cached.revoked is True
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await subscription.aclose()
