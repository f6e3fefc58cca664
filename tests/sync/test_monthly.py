"""The monthly reset on each backend: report counts archived, current_usage recounted for the
new month, once per month (a second run the same day changes nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tests.sync.conftest import add_usage, at
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import monthly_report_counts, report_count, utcnow
from trinity_beast.db.stores import Stores
from trinity_beast.keys.model import KeyRecord
from trinity_beast.sync.monthly import monthly_reset


async def counts(stores: Stores) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """(report_count rows, monthly_report_counts rows), sorted."""
    async with begin(stores.engine) as conn:
        live = await conn.execute(sa.select(report_count.c.api_key_id, report_count.c.month,
                                            report_count.c.count).order_by("api_key_id", "month"))
        archived = await conn.execute(sa.select(
            monthly_report_counts.c.api_key_id, monthly_report_counts.c.month,
            monthly_report_counts.c.count).order_by("api_key_id", "month"))
        return ([(r[0], r[1], r[2]) for r in live], [(r[0], r[1], r[2]) for r in archived])


async def usage_of(stores: Stores, key: KeyRecord) -> tuple[int, datetime]:
    record = await stores.keys.get(key.key_id)
    assert record is not None
    return record.current_usage, record.updated_at


async def june_traffic(stores: Stores) -> tuple[KeyRecord, KeyRecord]:
    """Two keys used in June (3 and 1 requests), the first also twice just after midnight UTC
    on July 1st; June report counts for both and a July one."""
    _, busy = await stores.keys.create("pro")
    _, quiet = await stores.keys.create("free")
    await add_usage(stores, [
        ("j1", busy.key_id, at("2026-06-10T10:00:00")),
        ("j2", busy.key_id, at("2026-06-30T23:59:59")),
        ("j3", busy.key_id, at("2026-06-20T08:00:00")),
        ("j4", quiet.key_id, at("2026-06-11T09:00:00")),
        ("y1", busy.key_id, at("2026-07-01T00:00:00")),
        ("y2", busy.key_id, at("2026-07-01T00:30:00")),
    ])
    async with begin(stores.engine) as conn:
        await conn.execute(report_count.insert(), [
            {"api_key_id": busy.key_id, "month": "2026-06", "count": 7, "updated_at": utcnow()},
            {"api_key_id": quiet.key_id, "month": "2026-06", "count": 2, "updated_at": utcnow()},
            {"api_key_id": busy.key_id, "month": "2026-07", "count": 1, "updated_at": utcnow()},
        ])
    return busy, quiet


async def test_the_first_of_the_month_resets_once(stores: Stores) -> None:
    busy, quiet = await june_traffic(stores)
    assert (await usage_of(stores, busy))[0] == 5
    _, before = await usage_of(stores, quiet)

    report = await monthly_reset(stores.engine, at("2026-07-01T05:00:00"))

    assert report.summary == ("2026-07 started: 2 report counts archived, "
                              "current_usage recounted for 2 keys")
    assert (report.mode, report.count) == ("full", 2)
    assert (await usage_of(stores, busy))[0] == 2  # the two requests made in July
    usage, after = await usage_of(stores, quiet)
    assert usage == 0
    assert after > before  # nodes see the change
    assert await counts(stores) == (
        [(busy.key_id, "2026-07", 1)],
        sorted([(busy.key_id, "2026-06", 7), (quiet.key_id, "2026-06", 2)]))

    await add_usage(stores, [("y3", quiet.key_id, at("2026-07-01T05:10:00"))])
    again = await monthly_reset(stores.engine, at("2026-07-01T23:00:00"))
    assert (again.summary, again.mode, again.count) == ("2026-07 already done", "skipped", 0)
    assert (await usage_of(stores, busy))[0] == 2
    assert (await usage_of(stores, quiet))[0] == 1


async def test_a_new_installation_mid_month_keeps_its_usage(stores: Stores) -> None:
    busy, _ = await june_traffic(stores)
    report = await monthly_reset(stores.engine, at("2026-07-15T05:00:00"))
    assert report.summary == "2026-07 recorded as the first month (no reset before the 1st)"
    assert (await usage_of(stores, busy))[0] == 5
    assert (await monthly_reset(stores.engine, at("2026-07-31T05:00:00"))).summary == (
        "2026-07 already done")


async def test_a_missed_first_is_caught_up(stores: Stores) -> None:
    busy, _ = await june_traffic(stores)
    await monthly_reset(stores.engine, at("2026-06-20T05:00:00"))  # June recorded
    report = await monthly_reset(stores.engine, at("2026-07-03T05:00:00"))
    assert report.summary.startswith("2026-07 started:")
    assert (await usage_of(stores, busy))[0] == 2


async def test_late_report_counts_are_archived_after_the_reset(stores: Stores) -> None:
    busy, _ = await june_traffic(stores)
    await monthly_reset(stores.engine, at("2026-07-01T05:00:00"))
    async with begin(stores.engine) as conn:  # a node whose clock is behind counts in June
        await conn.execute(report_count.insert().values(
            api_key_id=busy.key_id, month="2026-06", count=1, updated_at=utcnow()))
    report = await monthly_reset(stores.engine, at("2026-07-01T06:00:00"))
    assert report.summary == "2026-07 already done, 1 late report counts archived"
    assert (busy.key_id, "2026-06", 8) in (await counts(stores))[1]


async def test_recount_counts_only_this_month(stores: Stores) -> None:
    _, key = await stores.keys.create("pro")
    first = at("2026-08-01T00:00:00")
    await add_usage(stores, [(f"a{i}", key.key_id, first - timedelta(seconds=i))
                             for i in range(1, 4)])
    await add_usage(stores, [(f"b{i}", key.key_id, first + timedelta(seconds=i))
                             for i in range(4)])
    await monthly_reset(stores.engine, at("2026-08-01T01:00:00"))
    assert (await usage_of(stores, key))[0] == 4
