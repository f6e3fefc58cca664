"""One sync run: the database parts, then the Valkey parts (skipped without ``REDIS_URL``).

First the database parts: monthly reset, retention, usage rollup (the days not rolled yet; a
full run also re-rolls the last :data:`REROLL_DAYS` days for usage rows that arrived late,
docs/lrs.md) — at once on PostgreSQL (they touch different rows), one after the other on
SQLite. Then API keys (after the reset, so a new month's ``current_usage`` goes out in the same
run), parameters, usage index and report usage into Valkey, at once; last the Valkey indexes
are trimmed to the retention cutoff. On PostgreSQL the run holds
a per-schema advisory lock, so when every node schedules the nightly run only one does the
work; the others report that another sync is running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import utcnow
from trinity_beast.db.stores import Stores
from trinity_beast.lrs.rollup import rollup_usage
from trinity_beast.sync.index import sync_report_usage, sync_usage_index, trim_indexes
from trinity_beast.sync.monthly import monthly_reset
from trinity_beast.sync.records import sync_api_keys, sync_parameters
from trinity_beast.sync.report import PartReport, SyncReport
from trinity_beast.sync.retention import enforce_retention, retention_cutoff

CACHE_PARTS = ("api keys", "parameters", "usage index", "report usage", "index retention")
REROLL_DAYS = 2
"""Days of ``usage_daily`` a full run rolls again, for usage rows that arrived late."""
_TRY_LOCK = sa.text(
    "SELECT pg_try_advisory_xact_lock(hashtext('trinity_beast.sync.' || current_schema()))")


@asynccontextmanager
async def sync_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    """True when this run may go ahead (always on SQLite: one machine, writes serialised)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with begin(engine) as conn:
        yield bool(await conn.scalar(_TRY_LOCK))


async def run_sync(stores: Stores, *, full: bool = False,
                   now: datetime | None = None) -> SyncReport:
    """Run every part once; ``full`` rebuilds the Valkey parts instead of adding what changed.

    ``now`` (default: the current time) decides the month, the retention cutoff and the rollup.
    """
    now = now or utcnow()
    started = time.perf_counter()
    async with sync_lock(stores.engine) as acquired:
        if acquired:
            parts = await _run_parts(stores, full, now)
        else:
            parts = [PartReport(name="sync", mode="skipped", count=0,
                                summary="skipped: another sync is running", seconds=0.0)]
    return SyncReport(started_at=now, full=full, parts=parts,
                      seconds=time.perf_counter() - started)


async def _run_parts(stores: Stores, full: bool, now: datetime) -> list[PartReport]:
    engine = stores.engine
    retention_days = stores.params.get_int("retention_days")
    cutoff = retention_cutoff(now, retention_days)
    database = [monthly_reset(engine, now), enforce_retention(engine, cutoff),
                _rollup(engine, now, retention_days, full)]
    if stores.is_sqlite:  # one writer at a time anyway
        parts = [await part for part in database]
    else:
        parts = await _concurrently(database)
    cache = stores.cache if isinstance(stores.cache, ValkeyCache) else None
    if cache is None:
        return parts + [
            PartReport(name=name, mode="skipped", count=0, seconds=0.0,
                       summary="skipped: no Valkey configured (REDIS_URL)")
            for name in CACHE_PARTS]
    parts += await _concurrently([
        sync_api_keys(cache, stores.keys, full=full, now=now),
        sync_parameters(cache, stores.param_store),
        sync_usage_index(cache, engine, full=full, now=now),
        sync_report_usage(cache, engine, full=full, now=now),
    ])
    parts.append(await _trim(cache, cutoff))
    return parts


async def _concurrently(parts: list[Coroutine[Any, Any, PartReport]]) -> list[PartReport]:
    """Run the parts at once; the first failure cancels the others and is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(part) for part in parts]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _rollup(engine: AsyncEngine, now: datetime, retention_days: int,
                  full: bool) -> PartReport:
    started = time.perf_counter()
    since = now.astimezone(UTC).date() - timedelta(days=REROLL_DAYS) if full else None
    result = await rollup_usage(engine, since, now=now, retention_days=retention_days)
    through = f", rolled through {result.rolled_through}" if result.rolled_through else ""
    return PartReport(name="usage rollup", mode="full" if full else "incremental",
                      count=len(result.days),
                      summary=f"{len(result.days)} days rolled up{through}",
                      seconds=time.perf_counter() - started)


async def _trim(cache: ValkeyCache, cutoff: datetime) -> PartReport:
    started = time.perf_counter()
    removed = await trim_indexes(cache, cutoff)
    return PartReport(name="index retention", mode="full", count=removed,
                      summary=f"{removed} index members before {cutoff:%Y-%m-%d} removed",
                      seconds=time.perf_counter() - started)
