"""Fixtures of the limits tests: a settable clock, key records per tier, a private Valkey prefix."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from trinity_beast.cache.valkey import redis_client
from trinity_beast.keys.model import TIER_LIMITS, KeyRecord
from trinity_beast.params.values import Parameters

MAY_2026 = datetime(2026, 5, 10, 12, 0, tzinfo=UTC).timestamp()
"""A fixed "now" in the middle of a month."""


class FakeClock:
    def __init__(self, now: float = MAY_2026) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def key_record(tier: str = "free", key_id: str = "ak_test_1", *, written: float = MAY_2026,
               **changes: object) -> KeyRecord:
    """A key of ``tier`` with that tier's limits, last written at ``written``."""
    limits = TIER_LIMITS[tier]
    at = datetime.fromtimestamp(written, UTC)
    record = KeyRecord(
        id=str(uuid.uuid4()), key_id=key_id, key_hash=uuid.uuid4().hex, tier=tier,
        query_limit=limits.query_limit, rate_limit_qps=limits.rate_limit_qps,
        burst_limit=limits.burst_limit, burst_tokens=float(limits.burst_limit or 0),
        minimum_wait_seconds=limits.minimum_wait_seconds, created_at=at, updated_at=at)
    return msgspec.structs.replace(record, **changes)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def valkey(redis_available: None) -> AsyncIterator[tuple[Redis, str]]:
    """A client of the real Redis and a key prefix no other test uses (removed afterwards)."""
    prefix = f"test:{uuid.uuid4().hex}:"
    client = redis_client(REDIS_URL, Parameters())
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
