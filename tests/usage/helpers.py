"""Records, database reads and waiting, shared by the usage tests."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.schema import api_keys, usage_logs
from trinity_beast.params.values import Parameters
from trinity_beast.usage.ids import new_record_id
from trinity_beast.usage.record import UsageRecord

EPOCH = 1_782_000_000.25
"""2026-06-21T00:00:00.250Z, the created_at of the first test record."""


def records(key_ids: Sequence[str], count: int, node: str = "node-a") -> list[UsageRecord]:
    """``count`` records spread round-robin over ``key_ids``, one second apart."""
    return [
        UsageRecord(
            id=new_record_id(), api_key_id=key_ids[i % len(key_ids)], asset="BTC",
            assets_count=1, source="okx", cache_tier="L1_MEMORY", response_time_us=40 + i,
            status=200, endpoint="/price", protocol="http", node=node, created_at=EPOCH + i,
        )
        for i in range(count)
    ]


def small_batches(**extra: str) -> Parameters:
    """Parameters with batches small enough that a test crosses several of them."""
    return Parameters({"usage_log_batch_size": "20", "sqs_batch_size": "5",
                       "usage_log_flush_ms": "20", "sqs_flush_ms": "20", **extra})


async def stored_ids(engine: AsyncEngine) -> list[str]:
    """Every ``usage_logs.id`` (a repeated id would show up twice)."""
    async with engine.connect() as conn:
        return list(await conn.scalars(sa.select(usage_logs.c.id)))


async def stored_rows(engine: AsyncEngine) -> dict[str, tuple[object, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(usage_logs))
        return {row.id: tuple(row) for row in result}


async def usage_by_key(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(api_keys.c.key_id, api_keys.c.current_usage))
        return {str(key): int(used) for key, used in result}


async def updated_at(engine: AsyncEngine, key_id: str) -> datetime:
    async with engine.connect() as conn:
        value = await conn.scalar(
            sa.select(api_keys.c.updated_at).where(api_keys.c.key_id == key_id))
    assert isinstance(value, datetime)
    return value


def per_key(batch: Sequence[UsageRecord]) -> dict[str, int]:
    return dict(Counter(record.api_key_id for record in batch))


async def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Wait for background tasks to reach ``condition`` (a correctness deadline, not a speed
    check: it only fails a test that would otherwise hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.01)


async def delete_prefixed(client: Redis, prefix: str) -> None:
    """Delete every key under a test's prefix."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
