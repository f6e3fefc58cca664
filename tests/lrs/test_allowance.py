"""The monthly report allowance in the database: limits, the add-on, unlimited tiers, the month
change, concurrent callers and the archive of finished months."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import START, NewKey
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import monthly_report_counts, report_count
from trinity_beast.errors import TooManyRequests
from trinity_beast.lrs.allowance import consume, month_of, next_month, reset_month

JUNE_END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
JULY_START = datetime(2026, 7, 1, tzinfo=UTC)


async def counts(engine: AsyncEngine, table: sa.Table = report_count) -> set[tuple[str, str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(table.c.api_key_id, table.c.month, table.c.count))
        return {(k, m, c) for k, m, c in rows}


def test_months_are_utc() -> None:
    assert month_of(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "2026-06"
    assert month_of(datetime.fromisoformat("2026-06-30T20:30:00-04:00")) == "2026-07"
    assert next_month(datetime(2026, 12, 31, 12, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)


async def test_ten_reports_a_month_then_429_naming_the_add_on(engine: AsyncEngine,
                                                              new_key: NewKey) -> None:
    caller = await new_key("free")
    assert [await consume(engine, caller.record, START, 10) for _ in range(10)] == list(
        range(1, 11))
    with pytest.raises(TooManyRequests) as refused:
        await consume(engine, caller.record, START, 10)
    error = refused.value
    assert (error.status, error.code) == (429, "report_limit")
    assert error.message == (
        "you have used all 10 reports of 2026-06; the allowance renews on 2026-07-01 (UTC). "
        "For unlimited reports add the Unlimited LRS Add-On ($20/month).")
    assert error.retry_after == (JULY_START - START).total_seconds()
    assert await counts(engine) == {(caller.key_id, "2026-06", 10)}


@pytest.mark.parametrize("tier", ["pro", "enterprise", "demo"])
async def test_paid_tiers_without_the_add_on_are_limited(engine: AsyncEngine, new_key: NewKey,
                                                         tier: str) -> None:
    caller = await new_key(tier)
    for _ in range(3):
        await consume(engine, caller.record, START, 3)
    with pytest.raises(TooManyRequests):
        await consume(engine, caller.record, START, 3)


@pytest.mark.parametrize(("tier", "lrs"), [("free", True), ("pro", True), ("enterprise", True),
                                           ("unlimited", False), ("lifetime", False),
                                           ("partner", False)])
async def test_the_add_on_and_unlimited_tiers_are_counted_but_never_refused(
        engine: AsyncEngine, new_key: NewKey, tier: str, lrs: bool) -> None:
    caller = await new_key(tier, lrs=lrs)
    assert [await consume(engine, caller.record, START, 2) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert await counts(engine) == {(caller.key_id, "2026-06", 5)}


async def test_a_limit_of_zero_refuses_without_counting(engine: AsyncEngine,
                                                        new_key: NewKey) -> None:
    caller = await new_key("free")
    with pytest.raises(TooManyRequests):
        await consume(engine, caller.record, START, 0)
    assert await counts(engine) == set()


async def test_the_allowance_starts_again_on_the_first(engine: AsyncEngine,
                                                       new_key: NewKey) -> None:
    caller = await new_key("free")
    for _ in range(10):
        await consume(engine, caller.record, JUNE_END, 10)
    with pytest.raises(TooManyRequests) as refused:
        await consume(engine, caller.record, JUNE_END, 10)
    assert refused.value.retry_after == 1.0
    assert await consume(engine, caller.record, JULY_START, 10) == 1
    assert await counts(engine) == {(caller.key_id, "2026-06", 10), (caller.key_id, "2026-07", 1)}


async def test_keys_are_counted_apart(engine: AsyncEngine, new_key: NewKey) -> None:
    first, second = await new_key("free"), await new_key("free")
    for _ in range(10):
        await consume(engine, first.record, START, 10)
    assert await consume(engine, second.record, START, 10) == 1


async def test_concurrent_callers_get_exactly_the_allowance(engine: AsyncEngine,
                                                            new_key: NewKey) -> None:
    caller = await new_key("free")
    results = await asyncio.gather(
        *(consume(engine, caller.record, START, 10) for _ in range(25)), return_exceptions=True)
    granted = sorted(r for r in results if isinstance(r, int))
    assert granted == list(range(1, 11))
    assert sum(isinstance(r, TooManyRequests) for r in results) == 15
    assert await counts(engine) == {(caller.key_id, "2026-06", 10)}


async def test_reset_month_archives_finished_months(engine: AsyncEngine, new_key: NewKey) -> None:
    caller = await new_key("free")
    for moment, times in ((datetime(2026, 5, 9, tzinfo=UTC), 4), (JUNE_END, 10),
                          (JULY_START, 2)):
        for _ in range(times):
            await consume(engine, caller.record, moment, 10)
    assert await reset_month(engine, "2026-07") == 2
    assert await counts(engine) == {(caller.key_id, "2026-07", 2)}
    archived = {(caller.key_id, "2026-05", 4), (caller.key_id, "2026-06", 10)}
    assert await counts(engine, monthly_report_counts) == archived
    assert await reset_month(engine, "2026-07") == 0
    assert await counts(engine, monthly_report_counts) == archived


async def test_a_late_count_of_an_archived_month_is_added(engine: AsyncEngine,
                                                          new_key: NewKey) -> None:
    caller = await new_key("free")
    await consume(engine, caller.record, JUNE_END, 10)
    await reset_month(engine, "2026-07")
    await consume(engine, caller.record, JUNE_END, 10)  # a node whose clock is behind
    await reset_month(engine, "2026-07")
    assert await counts(engine, monthly_report_counts) == {(caller.key_id, "2026-06", 2)}
    async with begin(engine) as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(report_count))
                ).scalar_one() == 0


async def test_reset_month_refuses_a_malformed_month(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        await reset_month(engine, "2026-7")
