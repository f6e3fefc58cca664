"""Retention on each backend: exactly the rows before the cutoff go, in bounded batches, and
so do their members in the Valkey indexes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.sync.conftest import add_reports, add_usage, at, valkey, zset
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import report_usage_logs, usage_logs
from trinity_beast.db.stores import Stores
from trinity_beast.sync.job import run_sync
from trinity_beast.sync.retention import delete_before, enforce_retention, retention_cutoff

NOW = at("2026-06-15T12:00:00")
CUTOFF = at("2026-03-15T00:00:00")
"""Midnight UTC 92 days before 2026-06-15: the first instant of the 93-day window."""
TICK = timedelta(microseconds=1)


async def ids(stores: Stores, table: sa.Table) -> list[str]:
    async with begin(stores.engine) as conn:
        return list(await conn.scalars(sa.select(table.c.id).order_by(table.c.id)))


def test_cutoff_is_the_start_of_the_report_window() -> None:
    assert retention_cutoff(NOW, 93) == CUTOFF
    assert retention_cutoff(at("2026-06-15T23:59:59"), 93) == CUTOFF
    assert retention_cutoff(NOW, 1) == at("2026-06-15T00:00:00")


async def test_exactly_the_old_rows_are_deleted_in_batches(stores: Stores) -> None:
    _, key = await stores.keys.create("pro")
    old = [(f"old{i}", key.key_id, CUTOFF - TICK - timedelta(days=i)) for i in range(5)]
    kept = [("edge", key.key_id, CUTOFF), ("new", key.key_id, NOW)]
    await add_usage(stores, old + kept)
    await add_reports(stores, [("r-old", key.key_id, CUTOFF - TICK), ("r-edge", key.key_id,
                                                                       CUTOFF)])

    assert await delete_before(stores.engine, usage_logs, CUTOFF, batch=2) == 5
    assert await ids(stores, usage_logs) == ["edge", "new"]
    report = await enforce_retention(stores.engine, CUTOFF, batch=2)
    assert (report.count, report.summary) == (
        1, "0 usage logs and 1 report usage logs created before 2026-03-15 deleted")
    assert await ids(stores, report_usage_logs) == ["r-edge"]


async def test_the_retention_days_parameter_is_used(stores: Stores) -> None:
    _, key = await stores.keys.create("pro")
    await add_usage(stores, [("a", key.key_id, at("2026-06-04T23:59:59")),
                             ("b", key.key_id, at("2026-06-05T00:00:00"))])
    stores.params.apply({"retention_days": "11"})
    report = await run_sync(stores, now=NOW)
    assert report.part("retention").summary == (
        "1 usage logs and 0 report usage logs created before 2026-06-05 deleted")
    assert await ids(stores, usage_logs) == ["b"]


async def test_index_members_past_retention_are_removed(shared: Stores) -> None:
    cache = valkey(shared)
    _, key = await shared.keys.create("pro")
    await add_usage(shared, [("u-old", key.key_id, at("2026-03-20T10:00:00")),
                             ("u-new", key.key_id, at("2026-06-01T10:00:00"))])
    await add_reports(shared, [("r-old", key.key_id, at("2026-03-20T10:00:00")),
                               ("r-new", key.key_id, at("2026-06-01T10:00:00"))])
    await run_sync(shared, full=True, now=NOW)
    assert len(await zset(cache, "usage_logs:index")) == 2

    later = NOW + timedelta(days=10)  # 2026-03-20 is now past the 93 days
    report = await run_sync(shared, now=later)

    assert report.part("retention").count == 2
    assert report.part("index retention").summary == (
        "2 index members before 2026-03-25 removed")
    assert await zset(cache, "usage_logs:index") == [
        ("u-new", at("2026-06-01T10:00:00").timestamp())]
    assert await zset(cache, f"report_usage:{key.key_id}") == [
        ("r-new", at("2026-06-01T10:00:00").timestamp())]
