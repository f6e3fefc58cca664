"""The log indexes in Valkey: ``usage_logs:index`` and ``report_usage:{api_key_id}``.

Both are sorted sets of log row ids scored by ``created_at`` (epoch seconds). A full run builds
them under ``sync:rebuild:{token}:…`` and renames them into place in one ``MULTI``, so readers
see the old index or the new one, never half of one. An incremental run adds the rows created
since the part's high-water mark minus :data:`LATE_ROWS` (ZADD of a present member changes
nothing), because a row may reach the database after newer ones (the usage queue, the spool).
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import report_usage_logs, usage_logs
from trinity_beast.sync.report import Mode, PartReport
from trinity_beast.sync.rows import newest_mark, stream_scores
from trinity_beast.sync.target import (
    REBUILD_TTL_SECONDS,
    REPORT_USAGE,
    USAGE_INDEX,
    Mark,
    guarded,
    read_mark,
    rebuild_name,
    scan_names,
    write_mark,
)
from trinity_beast.sync.zadd import ZaddWriter

LATE_ROWS = timedelta(minutes=2)
"""How far before the high-water mark an incremental run looks again, for rows that reached the
database after newer ones (the usage pipeline's normal delay is well under a second). Every
incremental run reads these rows again, so this stays small; a row later still (a spool
replayed after an outage) is indexed by the next full run, the nightly one."""
USAGE_PART = "usage_logs"
REPORT_PART = "report_usage_logs"
REPORT_CHUNK = 5_000


async def sync_usage_index(cache: ValkeyCache, engine: AsyncEngine, *, full: bool,
                           now: datetime) -> PartReport:
    started = time.perf_counter()
    mark = None if full else await read_mark(cache, USAGE_PART)
    if mark is not None and not await guarded("EXISTS", cache.client.exists(
            cache.key(USAGE_INDEX))):
        mark = None  # the index is gone (flushed, evicted): rebuild it
    if mark is not None:
        async with ZaddWriter(cache, USAGE_INDEX) as writer:
            rows, newest = await stream_scores(engine, usage_logs, mark.at - LATE_ROWS,
                                               writer.add)
    else:
        building = rebuild_name(secrets.token_hex(8), USAGE_INDEX)
        async with ZaddWriter(cache, building, expire=REBUILD_TTL_SECONDS) as writer:
            rows, newest = await stream_scores(engine, usage_logs, None, writer.add)
        await _swap_in(cache, {USAGE_INDEX: building if rows else None})
    mode: Mode = "incremental" if mark is not None else "full"
    if newest is not None:
        await write_mark(cache, USAGE_PART, newest, mode, now)
    return PartReport(name="usage index", mode=mode, count=rows, summary=f"{mode}, {rows} rows",
                      seconds=time.perf_counter() - started)


async def sync_report_usage(cache: ValkeyCache, engine: AsyncEngine, *, full: bool,
                            now: datetime) -> PartReport:
    started = time.perf_counter()
    mark = None if full else await read_mark(cache, REPORT_PART)
    token = None if mark is not None else secrets.token_hex(8)
    since = None if mark is None else mark.at - LATE_ROWS
    rows, written, newest = await _write_report_rows(cache, engine, since, token)
    if token is not None:
        stale = [name async for name in scan_names(cache, REPORT_USAGE) if name not in written]
        await _swap_in(cache, {**dict.fromkeys(stale), **{
            name: rebuild_name(token, name) for name in written}})
    mode: Mode = "incremental" if mark is not None else "full"
    if newest is not None:
        await write_mark(cache, REPORT_PART, newest, mode, now)
    return PartReport(name="report usage", mode=mode, count=rows,
                      summary=f"{mode}, {rows} rows of {len(written)} keys",
                      seconds=time.perf_counter() - started)


async def _write_report_rows(cache: ValkeyCache, engine: AsyncEngine, since: datetime | None,
                             token: str | None) -> tuple[int, set[str], Mark | None]:
    """ZADD the report rows since ``since`` per key (under rebuild names with ``token``);
    returns the rows, the final names written and the newest row's mark."""
    t = report_usage_logs.c
    query = sa.select(t.api_key_id, t.id, t.created_at)
    if since is not None:
        query = query.where(t.created_at >= since)
    rows = 0
    written: set[str] = set()
    async with begin(engine) as conn:
        newest = await newest_mark(conn, report_usage_logs)
        result = await conn.stream(query.execution_options(yield_per=REPORT_CHUNK))
        async for part in result.partitions():
            groups: defaultdict[str, list[str]] = defaultdict(list)
            for key_id, row_id, created_at in part:
                groups[REPORT_USAGE + key_id] += (repr(created_at.timestamp()), row_id)
            await _zadd_groups(cache, groups, token)
            written.update(groups)
            rows += len(part)
    return rows, written, newest


async def _zadd_groups(cache: ValkeyCache, groups: dict[str, list[str]],
                       token: str | None) -> None:
    async with cache.client.pipeline(transaction=False) as pipe:
        for name, flat in groups.items():
            key = cache.key(name if token is None else rebuild_name(token, name))
            pipe.execute_command("ZADD", key, *flat)
            if token is not None:
                pipe.expire(key, REBUILD_TTL_SECONDS)
        await guarded("ZADD", pipe.execute())


async def _swap_in(cache: ValkeyCache, replacements: dict[str, str | None]) -> None:
    """In one MULTI: rename each rebuilt key over its final name, or delete the final name
    when it has no replacement (``None``)."""
    if not replacements:
        return
    async with cache.client.pipeline(transaction=True) as pipe:
        for name, building in replacements.items():
            if building is None:
                pipe.delete(cache.key(name))
            else:
                pipe.rename(cache.key(building), cache.key(name))
                pipe.persist(cache.key(name))
        await guarded("MULTI RENAME", pipe.execute())


async def trim_indexes(cache: ValkeyCache, cutoff: datetime) -> int:
    """Remove the members scored before ``cutoff`` from every index; returns how many."""
    score = f"({cutoff.timestamp()!r}"
    names = [USAGE_INDEX, *[name async for name in scan_names(cache, REPORT_USAGE)]]
    async with cache.client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zremrangebyscore(cache.key(name), "-inf", score)
        removed = await guarded("ZREMRANGEBYSCORE", pipe.execute())
    return sum(int(count) for count in removed)
