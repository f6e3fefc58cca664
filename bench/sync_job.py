"""The sync job, PostgreSQL → Valkey, on 249,000 usage logs (issue 3).

Goals: a full sync of the usage-log index ≤ 3 s (the seed's job: ~16 s); an incremental sync of
1,000 new rows < 50 ms (the seed's: < 200 ms).

Setup: a fresh PostgreSQL schema and a unique Valkey prefix on 127.0.0.1; 249,000 rows of
``usage_logs`` from ``trinity_beast.lrs.datagen`` (50 keys, the 92 days inside the retention
window so none is deleted, written with COPY), then ``ANALYZE`` as autovacuum would. Measured,
in alternating rounds, medians reported:

* ours, full: ``sync_usage_index(full=True)`` — COPY of ``(epoch, id)`` in time order, split in
  C, ZADD of 10,000 members per call on four connections, built aside and renamed into place;
* reference, full: the direct way — a SQLAlchemy ``SELECT id, created_at`` (rows and datetimes
  as SQLAlchemy returns them), then ``ZADD`` of 1,000 members per call, one call at a time;
* the whole job, ``run_sync(full=True)`` (every part: monthly reset, retention, rollup, keys,
  parameters, both indexes), after one warm-up run;
* incremental: 1,000 new rows are written (COPY), spread over the ten simulated minutes since
  the previous ones, then ``sync_usage_index(full=False)``, the whole ``run_sync(full=False)``
  and the reference (the same direct way, for the rows newer than the previous ones) are timed,
  each on its own fresh rows. Ours also reads again the rows of the two minutes before its mark
  (``LATE_ROWS``, for rows that arrive late): about 1,200 rows read for 1,000 new.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from _pg import REDIS, admin_sql, fresh_schema, require
from tools import log

from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import begin
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.schema import usage_logs
from trinity_beast.db.stores import Stores, build_stores
from trinity_beast.lrs.datagen import insert_usage, synthetic_rows
from trinity_beast.settings import Settings
from trinity_beast.sync.index import sync_usage_index
from trinity_beast.sync.job import run_sync
from trinity_beast.sync.report import SyncReport

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROWS = 20_000 if QUICK else 249_000
ROUNDS = 2 if QUICK else 5
NEW_ROWS = 1_000
GOAL_FULL_S = 3.0
GOAL_INCREMENTAL_MS = 50.0
SEED_FULL_S = 16.0
SEED_INCREMENTAL_MS = 200.0
REFERENCE_CHUNK = 1_000
TIME_BUDGET_SECONDS = 420
KEYS = [f"ak_live_{i:012x}" for i in range(50)]


async def reference_sync(stores: Stores, since: datetime | None) -> int:
    """The direct way: rows through SQLAlchemy, ZADD 1,000 members per call, one at a time."""
    cache = _valkey(stores)
    query = sa.select(usage_logs.c.id, usage_logs.c.created_at)
    if since is not None:
        query = query.where(usage_logs.c.created_at >= since)
    async with begin(stores.engine) as conn:
        rows = (await conn.execute(query)).all()
    key = cache.key("reference:usage_logs:index")
    if since is None:
        await cache.client.delete(key)
    for start in range(0, len(rows), REFERENCE_CHUNK):
        chunk = rows[start:start + REFERENCE_CHUNK]
        await cache.client.zadd(key, {row_id: created.timestamp() for row_id, created in chunk})
    return len(rows)


def _valkey(stores: Stores) -> ValkeyCache:
    assert isinstance(stores.cache, ValkeyCache)
    return stores.cache


async def _timed(call: Awaitable[Any]) -> tuple[float, Any]:
    """Seconds taken by ``call`` (a coroutine runs only once awaited) and its result."""
    started = time.perf_counter()
    result = await call
    return time.perf_counter() - started, result


async def _bench_full(stores: Stores, now: datetime) -> dict[str, Any]:
    ours: list[float] = []
    reference: list[float] = []
    for round_number in range(ROUNDS):
        seconds, part = await _timed(sync_usage_index(_valkey(stores), stores.engine,
                                                      full=True, now=now))
        assert part.count == ROWS, part
        ours.append(seconds)
        seconds, count = await _timed(reference_sync(stores, None))
        assert count == ROWS
        reference.append(seconds)
        log(f"sync_job: full round {round_number + 1}: ours {ours[-1]:.2f} s, "
            f"reference {reference[-1]:.2f} s")
    jobs = []
    for _ in range(ROUNDS):
        seconds, report = await _timed(run_sync(stores, full=True, now=now))
        jobs.append((seconds, report))
    median_job = sorted(jobs, key=lambda item: item[0])[len(jobs) // 2][1]
    return {
        "ours_s": _median(ours), "ours_all_s": _rounded(ours),
        "reference_s": _median(reference), "reference_all_s": _rounded(reference),
        "ratio": round(_median(reference) / _median(ours), 2),
        "whole_job_s": _median([s for s, _ in jobs]),
        "whole_job_all_s": _rounded([s for s, _ in jobs]),
        "whole_job_parts_ms": _parts_ms(median_job),
        "goal_s": GOAL_FULL_S, "seed_s": SEED_FULL_S,
        "goal_met": _median(ours) <= GOAL_FULL_S,
    }


async def _bench_incremental(stores: Stores, now: datetime) -> dict[str, Any]:
    """Each measurement on 1,000 fresh rows spread over the ten simulated minutes since the
    previous ones (steady traffic); the three measurements alternate."""
    ours: list[float] = []
    job: list[float] = []
    reference: list[float] = []
    rows_read: list[int] = []
    job_parts: list[tuple[float, dict[str, float]]] = []
    moment = now
    for round_number in range(ROUNDS):
        for measured in (ours, job, reference):
            previous, moment = moment, moment + timedelta(minutes=10)
            await _add_new(stores, moment)
            if measured is ours:
                seconds, part = await _timed(sync_usage_index(_valkey(stores), stores.engine,
                                                              full=False, now=moment))
                rows_read.append(part.count)
            elif measured is job:
                seconds, report = await _timed(run_sync(stores, now=moment))
                rows_read.append(report.part("usage index").count)
                job_parts.append((seconds, _parts_ms(report)))
            else:
                seconds, count = await _timed(reference_sync(stores, previous))
                assert count == NEW_ROWS
            measured.append(seconds * 1000)
        log(f"sync_job: incremental round {round_number + 1}: ours {ours[-1]:.1f} ms, "
            f"whole job {job[-1]:.1f} ms, reference {reference[-1]:.1f} ms")
    assert min(rows_read) > NEW_ROWS, rows_read
    return {
        "new_rows": NEW_ROWS, "rows_read_median": int(statistics.median(rows_read)),
        "ours_ms": _median(ours), "ours_all_ms": _rounded(ours),
        "whole_job_ms": _median(job), "whole_job_all_ms": _rounded(job),
        "whole_job_parts_ms": sorted(job_parts)[len(job_parts) // 2][1],
        "reference_ms": _median(reference), "reference_all_ms": _rounded(reference),
        "ratio": round(_median(reference) / _median(ours), 2),
        "goal_ms": GOAL_INCREMENTAL_MS, "seed_ms": SEED_INCREMENTAL_MS,
        "goal_met": _median(ours) < GOAL_INCREMENTAL_MS,
        "whole_job_goal_met": _median(job) < GOAL_INCREMENTAL_MS,
    }


async def _add_new(stores: Stores, moment: datetime) -> None:
    """1,000 rows spread over the ten minutes before ``moment`` (a day of synthetic rows
    compressed 144 times)."""
    rows = synthetic_rows(KEYS, NEW_ROWS, end=moment, days=1, seed=int(moment.timestamp()))
    await insert_usage(stores.engine, [(*row[:-1], moment - (moment - row[-1]) / 144)
                                       for row in rows])


def _parts_ms(report: SyncReport) -> dict[str, float]:
    return {part.name: round(part.seconds * 1000, 1) for part in report.parts}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def _rounded(values: list[float]) -> list[float]:
    return [round(value, 4) for value in values]


async def _run() -> dict[str, Any]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    async with fresh_schema("bench_sync") as (schema, url):
        stores = build_stores(Settings(database_url=url, redis_url=REDIS, redis_prefix=prefix,
                                       seed_demo_key=False))
        try:
            await upgrade(stores.engine)
            now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
            log(f"sync_job: writing {ROWS:,} usage rows")
            await insert_usage(stores.engine, synthetic_rows(KEYS, ROWS, end=now, days=92))
            await admin_sql(f'ANALYZE "{schema}".usage_logs')
            await run_sync(stores, full=True, now=now)  # warm-up: the rollup's first pass
            full = await _bench_full(stores, now)
            incremental = await _bench_incremental(stores, now)
        finally:
            await _drop_prefix(_valkey(stores), prefix)
            await stores.aclose()
    return {"rows": ROWS, "rounds": ROUNDS, "full": full, "incremental": incremental,
            "quick": QUICK, "postgres_and_valkey": "127.0.0.1, same machine"}


async def _drop_prefix(cache: ValkeyCache, prefix: str) -> None:
    keys = [key async for key in cache.client.scan_iter(match=f"{prefix}*")]
    if keys:
        await cache.client.delete(*keys)


def main() -> dict[str, Any]:
    require("PostgreSQL", 5432)
    require("Valkey/Redis", 6379)
    return asyncio.run(_run())


def summary(result: dict[str, Any]) -> str:
    full, inc = result["full"], result["incremental"]
    return "\n".join([
        f"Sync PostgreSQL → Valkey, {result['rows']:,} usage logs (median of "
        f"{result['rounds']} rounds; reference: SQLAlchemy fetch + ZADD 1,000 per call).",
        "",
        "| measurement | ours (median) | ours (slowest) | reference | ratio | seed | goal "
        "| goal met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| full usage index | {full['ours_s']:.2f} s | {max(full['ours_all_s']):.2f} s | "
        f"{full['reference_s']:.2f} s | {full['ratio']:.1f}× | ~{full['seed_s']:g} s | "
        f"≤ {full['goal_s']:g} s | {_met(full['goal_met'])} |",
        f"| whole job, full | {full['whole_job_s']:.2f} s | {max(full['whole_job_all_s']):.2f}"
        " s | | | | | |",
        f"| incremental, {inc['new_rows']:,} new rows (usage index; "
        f"{inc['rows_read_median']:,} read) | {inc['ours_ms']:.1f} ms | "
        f"{max(inc['ours_all_ms']):.1f} ms | {inc['reference_ms']:.1f} ms | "
        f"{inc['ratio']:.1f}× | < {inc['seed_ms']:g} ms | < {inc['goal_ms']:g} ms | "
        f"{_met(inc['goal_met'])} |",
        f"| whole job, incremental | {inc['whole_job_ms']:.1f} ms | "
        f"{max(inc['whole_job_all_ms']):.1f} ms | | | | < {inc['goal_ms']:g} ms | "
        f"{_met(inc['whole_job_goal_met'])} |",
        "",
        f"Whole job by part (ms), full: {_listed(full['whole_job_parts_ms'])}; incremental: "
        f"{_listed(inc['whole_job_parts_ms'])}.",
    ])


def _met(met: bool) -> str:
    return "yes" if met else "**no**"


def _listed(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:g}" for name, ms in parts.items())


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
