"""Sync fixtures: stores of each database backend, with the real Valkey under a unique prefix
(``shared``) or with the in-process cache (``stores``), and helpers that write log rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from tests.db.backends import database_url, engine, stores
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import begin
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.schema import report_usage_logs
from trinity_beast.db.stores import Stores, build_stores
from trinity_beast.settings import Settings
from trinity_beast.usage.insert import insert_batch
from trinity_beast.usage.record import UsageRecord

__all__ = ["database_url", "engine", "stores"]


@pytest.fixture
async def shared(database_url: str, redis_available: None) -> AsyncIterator[Stores]:
    """Stores over a migrated database of each backend and the real Valkey (unique prefix)."""
    prefix = f"test:{uuid.uuid4().hex}:"
    built = build_stores(Settings(database_url=database_url, redis_url=REDIS_URL,
                                  redis_prefix=prefix, seed_demo_key=False))
    await upgrade(built.engine)
    try:
        yield built
    finally:
        cleaner = Redis.from_url(REDIS_URL)
        keys = [key async for key in cleaner.scan_iter(match=f"{prefix}*")]
        if keys:
            await cleaner.delete(*keys)
        await cleaner.aclose()
        await built.aclose()


def valkey(stores: Stores) -> ValkeyCache:
    assert isinstance(stores.cache, ValkeyCache)
    return stores.cache


def at(text: str) -> datetime:
    """``"2026-06-15T12:00:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def usage(row_id: str, key_id: str, created_at: datetime) -> UsageRecord:
    return UsageRecord(id=row_id, api_key_id=key_id, asset="BTC", assets_count=1,
                       source="okx-ws", cache_tier="L1_MEMORY", response_time_us=42, status=200,
                       endpoint="/price", protocol="http", node="BeastTest",
                       created_at=created_at.timestamp())


async def add_usage(stores: Stores, rows: Iterable[tuple[str, str, datetime]]) -> None:
    """Insert ``(id, api_key_id, created_at)`` usage rows the way the usage writer does (which
    also advances ``current_usage``)."""
    await insert_batch(stores.engine, [usage(*row) for row in rows])


async def add_reports(stores: Stores, rows: Iterable[tuple[str, str, datetime]]) -> None:
    """Insert ``(id, api_key_id, created_at)`` rows of ``report_usage_logs``."""
    async with begin(stores.engine) as conn:
        await conn.execute(report_usage_logs.insert(), [
            {"id": row_id, "api_key_id": key_id, "report_type": "usage", "created_at": moment}
            for row_id, key_id, moment in rows])


async def zset(cache: ValkeyCache, name: str) -> list[tuple[str, float]]:
    """The members of a sorted set with their scores, lowest score first."""
    pairs = await cache.client.zrange(cache.key(name), 0, -1, withscores=True)
    return [(str(pair[0]), float(pair[1])) for pair in pairs]
