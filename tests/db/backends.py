"""Fixtures that run a test against both database backends and against the real Valkey.

``database_url`` is parametrized: SQLite in ``tmp_path``, and the real PostgreSQL in a fresh
schema (created for the test, dropped after). ``valkey_cache`` is the real Redis with a unique
key prefix, whose keys are deleted after the test. Conftests import these fixtures.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
import redis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import POSTGRES_URL, REDIS_URL
from trinity_beast.cache.valkey import ValkeyCache, redis_client
from trinity_beast.db.engine import create_engine, dispose_engine
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.stores import Stores, build_stores
from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings

BACKENDS = ["sqlite", "postgresql"]


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_postgres_url() -> tuple[str, str]:
    """A URL whose connections use a new, empty schema; returns (url, schema)."""
    schema = f"beast_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE SCHEMA "{schema}"')
    return f"{POSTGRES_URL}?schema={schema}", schema


async def drop_schema(schema: str) -> None:
    await _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'beast.db'}"
        return
    request.getfixturevalue("postgres_available")
    url, schema = await fresh_postgres_url()
    try:
        yield url
    finally:
        await drop_schema(schema)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database of each backend."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await dispose_engine(engine)


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[Stores]:
    """The composition root's stores over a migrated database (in-process cache)."""
    built = build_stores(Settings(database_url=database_url, seed_demo_key=False))
    await upgrade(built.engine)
    yield built
    await built.aclose()


@pytest.fixture
async def valkey_cache(redis_available: None) -> AsyncIterator[ValkeyCache]:
    """The real Redis behind a unique prefix (cleaned up after the test)."""
    prefix = f"test:{uuid.uuid4().hex}:"
    cache = ValkeyCache(redis_client(REDIS_URL, Parameters()), prefix)
    yield cache
    cleaner = Redis.from_url(REDIS_URL)
    keys = [key async for key in cleaner.scan_iter(match=f"{prefix}*")]
    if keys:
        await cleaner.delete(*keys)
    await cleaner.aclose()
    await cache.aclose()


@contextmanager
def shared_stores_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[redis.Redis, str]]:
    """Environment for a CLI run on a fresh PostgreSQL schema and a unique Valkey prefix;
    yields a synchronous Valkey client and the prefix. Both are removed afterwards."""
    url, schema = asyncio.run(fresh_postgres_url())
    prefix = f"test:{uuid.uuid4().hex}:"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("BEAST_REDIS_PREFIX", prefix)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
        asyncio.run(drop_schema(schema))
