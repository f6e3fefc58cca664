"""Fixtures of the usage tests: both database backends (migrated, with three API keys), the
real Redis behind a unique key prefix, and a private redis-server that tests may stop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REDIS_URL
from tests.db.backends import database_url, engine
from tests.redis_process import RedisProcess
from tests.usage.helpers import delete_prefixed
from trinity_beast.cache.valkey import redis_client
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.params.values import Parameters

__all__ = ["database_url", "engine", "key_ids", "private_redis", "redis", "redis_prefix"]


@pytest.fixture
async def key_ids(engine: AsyncEngine) -> list[str]:
    """Three ``api_keys`` rows (``current_usage`` 0); their non-secret key ids."""
    store = SqlKeyStore(engine)
    return [(await store.create("free"))[1].key_id for _ in range(3)]


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis(redis_available: None, redis_prefix: str) -> AsyncIterator[Redis]:
    """A client of the real Redis; every key under ``redis_prefix`` is deleted afterwards."""
    client = redis_client(REDIS_URL, Parameters())
    yield client
    await delete_prefixed(client, redis_prefix)
    await client.aclose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test alone (so the test can stop it)."""
    process = RedisProcess(tmp_path)
    process.start()
    yield process
    process.stop()
