"""Synthetic ``usage_logs`` rows for benchmarks and tests, and a fast bulk insert.

The rows look like production traffic: 24 assets, each served by its own exchange feed; 90 % of
answers from memory (L1, microseconds), 8 % from Valkey (L2), 2 % from an exchange's REST API
(L3, tens of milliseconds); about 2 % unknown assets (404) and 1 % rate-limited (429). They are
spread evenly over ``days`` days before ``end`` and come oldest first, as production traffic
reaches the table. Their ids are time-ordered (the creation time in µs, then 64 random bits, like
a UUIDv7) so that loading 10 million rows only ever appends to the primary-key index; production
ids are random, which changes insert cost, not report cost. The same seed gives the same rows.

:func:`insert_usage` uses ``COPY`` (asyncpg's binary copy) on PostgreSQL — about ten times as
fast as ``INSERT`` — and ``executemany`` on SQLite.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import begin
from trinity_beast.db.schema import usage_logs

COLUMNS = ("id", "api_key_id", "asset", "assets_count", "source", "cache_tier",
           "response_time_us", "status", "endpoint", "protocol", "node", "created_at")
UsageTuple = tuple[str, str, str | None, int, str | None, str | None, int, int, str, str, str,
                   datetime]

FEEDS = ("coinbase", "gemini", "kraken", "gateio", "bybit", "okx")
ASSETS = tuple(
    (asset, FEEDS[i % len(FEEDS)])
    for i, asset in enumerate((
        "BTC", "ETH", "SOL", "DOGE", "XRP", "LINK", "DOT", "LTC", "AVAX", "UNI", "ADA", "ATOM",
        "NEAR", "ARB", "BNB", "TRX", "TON", "APT", "SUI", "OP", "KAS", "TIA", "JUP", "PEPE",
    ))
)
NODES = ("BeastMain", "BeastMirror", "BeastLRS")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def synthetic_rows(key_ids: Sequence[str], count: int, *, end: datetime, days: int = 93,
                   seed: int = 0) -> Iterator[UsageTuple]:
    """``count`` rows, each of a key drawn from ``key_ids``, in ``[end - days, end)``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    start = end - timedelta(days=days)
    step_us = days * 86_400_000_000 / max(count, 1)
    for index in range(count):
        created_at = start + timedelta(microseconds=int((index + rng.random()) * step_us))
        asset, feed = rng.choice(ASSETS)
        draw = rng.random()
        source: str | None
        tier: str | None
        if draw < 0.02:
            asset, source, tier, status, us = "NOPE", None, None, 404, rng.randint(2, 40)
        elif draw < 0.03:
            source, tier, status, us = None, None, 429, rng.randint(1, 20)
        elif draw < 0.90 * 0.97 + 0.03:
            us = int(rng.lognormvariate(2.5, 0.6))
            source, tier, status = f"{feed}-ws", "L1_MEMORY", 200
        elif draw < 0.98 * 0.97 + 0.03:
            source, tier, status, us = f"{feed}-ws", "L2_VALKEY", 200, rng.randint(150, 900)
        else:
            source, tier, status, us = feed, "L3_REST", 200, rng.randint(30_000, 80_000)
        row_id = f"{(created_at - EPOCH) // MICROSECOND:016x}{rng.getrandbits(64):016x}"
        yield (row_id, rng.choice(key_ids), asset, 1, source, tier, us, status, "/price", "http",
               rng.choice(NODES), created_at)


async def insert_usage(engine: AsyncEngine, rows: Iterable[UsageTuple],
                       chunk: int = 50_000) -> int:
    """Insert ``rows`` into ``usage_logs`` in chunks; returns how many were inserted."""
    inserted = 0
    iterator = iter(rows)
    while batch := list(islice(iterator, chunk)):
        if engine.dialect.name == "postgresql":
            await _copy(engine, batch)
        else:
            async with begin(engine) as conn:
                await conn.execute(usage_logs.insert(),
                                   [dict(zip(COLUMNS, row, strict=True)) for row in batch])
        inserted += len(batch)
    return inserted


async def _copy(engine: AsyncEngine, batch: list[UsageTuple]) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table("usage_logs", records=batch, columns=list(COLUMNS))
