"""``summary`` and ``report-summary``: exact aggregates, the same with and without the daily
rollup (whole days, partial days, filters), the rollup's progress, and the report allowance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import START, Caller, FakeClock, NewKey, insert_rows, usage_row
from trinity_beast.db.engine import begin
from trinity_beast.db.schema import api_keys, usage_daily
from trinity_beast.lrs.datagen import insert_usage, synthetic_rows
from trinity_beast.lrs.filters import ReportQuery
from trinity_beast.lrs.latency import Latency
from trinity_beast.lrs.results import Allowance, Group, Page, Quota, Summary
from trinity_beast.lrs.rollup import rollup_usage
from trinity_beast.lrs.service import LrsService, Result


def keep(_query: ReportQuery, result: Result) -> tuple[Result, int]:
    return result, len(result.rows) if isinstance(result, Page) else result.count


async def summary(service: LrsService, caller: Caller, params: Mapping[str, str] | None = None,
                  report: str = "summary") -> Summary:
    result = await service.run(caller.record, report, params or {}, "http", keep)
    assert isinstance(result, Summary)
    return result


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 6, day, hour, tzinfo=UTC)


@pytest.fixture
async def caller(engine: AsyncEngine, new_key: NewKey) -> Caller:
    """An unlimited key with five requests over three days, used 250 of a 1,000 quota."""
    caller: Caller = await new_key("unlimited")
    other: Caller = await new_key("unlimited")
    async with begin(engine) as conn:
        await conn.execute(sa.update(api_keys).where(api_keys.c.key_id == caller.key_id)
                           .values(query_limit=1000, current_usage=250))
    await insert_rows(engine, [
        usage_row(caller.key_id, at(18, 10)),
        usage_row(caller.key_id, at(18, 11)),
        usage_row(caller.key_id, at(19, 9), asset="ETH", source="gemini-ws",
                  cache_tier="L2_VALKEY", response_time_us=500),
        usage_row(caller.key_id, at(20, 8), asset="NOPE", source=None, cache_tier=None,
                  status=404, response_time_us=20),
        usage_row(caller.key_id, at(20, 9), asset=None, source=None, cache_tier=None,
                  status=429, response_time_us=5),
        usage_row(other.key_id, at(19, 9), asset="DOGE", response_time_us=99),
    ])
    return caller


EXPECTED = {
    "day": [Group("2026-06-18", 2, 0), Group("2026-06-19", 1, 0), Group("2026-06-20", 2, 2)],
    "asset": [Group("BTC", 2, 0), Group("ETH", 1, 0), Group("NOPE", 1, 1), Group(None, 1, 1)],
    "source": [Group("coinbase-ws", 2, 0), Group(None, 2, 2), Group("gemini-ws", 1, 0)],
    "cache_tier": [Group("L1_MEMORY", 2, 0), Group(None, 2, 2), Group("L2_VALKEY", 1, 0)],
    "status": [Group("200", 3, 0), Group("404", 1, 1), Group("429", 1, 1)],
}


async def test_summary_is_exact(service: LrsService, caller: Caller) -> None:
    found = await summary(service, caller)
    assert found == Summary(
        status="✅ [LRS] [test-region] [TestNode] [/reports/summary] [200]", status_code=200,
        endpoint="/reports/summary", api_key_id=caller.key_id,
        start="2026-03-20T00:00:00.000000Z", end="2026-06-21T00:00:00.000000Z",
        count=5, errors=2, latency_us=Latency(avg=109, p50=12, p95=367, p99=436, max=500),
        quota=Quota(limit=1000, used=250, remaining=750), breakdowns=EXPECTED,
    )


async def test_summary_is_the_same_from_the_rollup(engine: AsyncEngine, service: LrsService,
                                                   caller: Caller) -> None:
    before = await summary(service, caller)
    result = await rollup_usage(engine, now=START)
    assert (result.days[0], result.days[-1], len(result.days)) == (
        date(2026, 3, 20), date(2026, 6, 19), 92)
    assert await summary(service, caller) == before
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(usage_daily.c.day, usage_daily.c.asset,
                                             usage_daily.c.requests).where(
            usage_daily.c.api_key_id == caller.key_id).order_by(usage_daily.c.day))).all()
    assert [tuple(r) for r in rows] == [(date(2026, 6, 18), "BTC", 2),
                                        (date(2026, 6, 19), "ETH", 1)]


async def test_summary_filters(service: LrsService, caller: Caller) -> None:
    errors = await summary(service, caller, {"status": "error"})
    assert (errors.count, errors.errors, errors.breakdowns["status"]) == (
        2, 2, [Group("404", 1, 1), Group("429", 1, 1)])
    btc = await summary(service, caller, {"asset": "btc", "start_date": "2026-06-18T10:30:00Z"})
    assert (btc.count, btc.start, btc.latency_us) == (
        1, "2026-06-18T10:30:00.000000Z", Latency(10, 10, 10, 10, 10))
    nothing = await summary(service, caller, {"start_date": "2026-01-01", "end_date": "2026-02-01"})
    assert (nothing.count, nothing.errors, nothing.latency_us) == (0, 0, Latency(*[None] * 5))
    assert nothing.breakdowns == {name: [] for name in EXPECTED}
    assert (nothing.start, nothing.end) == ("2026-03-20T00:00:00.000000Z",) * 2


PARAMS = [
    {}, {"asset": "BTC"}, {"status": "error"}, {"status": "200"}, {"asset": "ETH", "status": "ok"},
    {"start_date": "2026-06-12T13:45:00Z"}, {"end_date": "2026-06-18T06:00:00Z"},
    {"start_date": "2026-06-15", "end_date": "2026-06-17"},
    {"start_date": "2026-06-12T23:59:59.999999Z", "end_date": "2026-06-20T00:00:00.000001Z"},
]


async def test_rollup_and_live_rows_agree_for_any_range_and_filter(
        engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    first, second = await new_key("unlimited"), await new_key("partner")
    rows = synthetic_rows([first.key_id, second.key_id], 3000, end=START, days=10, seed=7)
    await insert_usage(engine, rows, chunk=1000)
    live = [await summary(service, first, p) for p in PARAMS]
    assert live[0].count > 1000
    assert sum(g.count for g in live[0].breakdowns["day"]) == live[0].count
    await rollup_usage(engine, now=datetime(2026, 6, 15, 6, tzinfo=UTC))  # rolled to the 14th
    assert [await summary(service, first, p) for p in PARAMS] == live
    await rollup_usage(engine, now=START)  # rolled to the 19th
    assert [await summary(service, first, p) for p in PARAMS] == live


async def test_rollup_progress(engine: AsyncEngine) -> None:
    first = await rollup_usage(engine, now=START)
    assert first.rolled_through == date(2026, 6, 19)
    again = await rollup_usage(engine, now=START)
    assert (again.days, again.rolled_through) == ([], date(2026, 6, 19))
    redo = await rollup_usage(engine, date(2026, 6, 18), now=START)
    assert redo.days == [date(2026, 6, 18), date(2026, 6, 19)]
    settling = await rollup_usage(engine, now=datetime(2026, 6, 21, 0, 9, tzinfo=UTC))
    assert settling.days == []
    settled = await rollup_usage(engine, now=datetime(2026, 6, 21, 0, 10, tzinfo=UTC))
    assert (settled.days, settled.rolled_through) == ([date(2026, 6, 20)], date(2026, 6, 20))


async def test_late_rows_count_once_their_day_is_rolled_again(
        engine: AsyncEngine, service: LrsService, caller: Caller) -> None:
    await rollup_usage(engine, now=START)
    await insert_rows(engine, [usage_row(caller.key_id, at(18, 23), asset="SOL")])
    assert (await summary(service, caller)).count == 5
    await rollup_usage(engine, date(2026, 6, 18), now=START)
    assert (await summary(service, caller)).count == 6


async def test_rollup_forgets_days_before_the_window(engine: AsyncEngine,
                                                     caller: Caller) -> None:
    await rollup_usage(engine, now=START)
    await rollup_usage(engine, now=datetime(2026, 9, 19, 12, tzinfo=UTC))  # window: 06-19 on
    async with engine.connect() as conn:
        days = (await conn.execute(sa.select(usage_daily.c.day).distinct())).scalars().all()
    assert sorted(days) == [date(2026, 6, 19), date(2026, 6, 20)]


async def test_report_summary_counts_calls_and_the_allowance(
        service: LrsService, new_key: NewKey, clock: FakeClock) -> None:
    caller = await new_key("free")
    await summary(service, caller, {"format": "csv"})
    await service.run(caller.record, "usage", {"limit": "3"}, "udp", keep)
    with pytest.raises(Exception, match="status must be"):
        await summary(service, caller, {"status": "nope"})
    clock.set(datetime(2026, 6, 21, 1, tzinfo=UTC))
    found = await summary(service, caller, {}, "report-summary")
    assert (found.count, found.errors, found.quota) == (3, 1, None)
    assert found.allowance == Allowance(month="2026-06", limit=10, used=3, remaining=7)
    assert found.breakdowns == {
        "day": [Group("2026-06-20", 3, 1)],
        "report_type": [Group("summary", 2, 1), Group("usage", 1, 0)],
        "format": [Group("json", 2, 1), Group("csv", 1, 0)],
        "protocol": [Group("http", 2, 1), Group("udp", 1, 0)],
        "status": [Group("200", 2, 0), Group("400", 1, 1)],
    }
    assert found.latency_us.avg is not None


async def test_report_summary_of_an_unlimited_key(service: LrsService, new_key: NewKey) -> None:
    caller = await new_key("pro", lrs=True)
    found = await summary(service, caller, {}, "report-summary")
    assert found.allowance == Allowance(month="2026-06", limit=None, used=1, remaining=None)
    assert msgspec.json.decode(msgspec.json.encode(found))["allowance"] == {
        "month": "2026-06", "limit": None, "used": 1, "remaining": None}
