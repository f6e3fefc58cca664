"""``usage`` and ``report-usage`` pages through the service: keyset pagination under concurrent
inserts, filters, the 93-day window, and only ever the caller's rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import (
    START,
    Caller,
    FakeClock,
    NewKey,
    insert_rows,
    minutes_ago,
    usage_row,
)
from trinity_beast.errors import BadRequest, TooManyRequests
from trinity_beast.lrs.filters import ReportQuery
from trinity_beast.lrs.results import Page, ReportRow, UsageRow
from trinity_beast.lrs.service import LrsService, Result
from trinity_beast.params.values import Parameters


def keep(_query: ReportQuery, result: Result) -> tuple[Result, int]:
    return result, len(result.rows) if isinstance(result, Page) else result.count


async def page(service: LrsService, caller: Caller, params: Mapping[str, str],
               report: str = "usage") -> Page:
    result = await service.run(caller.record, report, params, "http", keep)
    assert isinstance(result, Page)
    return result


async def walk(service: LrsService, caller: Caller, params: Mapping[str, str]) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        found = await page(service, caller, {**params, **({"cursor": cursor} if cursor else {})})
        ids += [row.id for row in found.rows]
        cursor = found.next_cursor
        if cursor is None:
            return ids


async def test_pages_are_newest_first_with_a_cursor_to_the_rest(
        engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    rows = [usage_row(caller.key_id, minutes_ago(m), row_id=f"r{m:02d}") for m in range(1, 6)]
    await insert_rows(engine, rows)
    first = await page(service, caller, {"limit": "2"})
    assert [r.id for r in first.rows] == ["r01", "r02"]
    assert first.rows[0] == UsageRow(
        created_at="2026-06-20T11:59:00.000000Z", id="r01", asset="BTC", assets_count=1,
        source="coinbase-ws", cache_tier="L1_MEMORY", response_time_us=10, status=200,
        endpoint="/price", protocol="http", node="BeastMain")
    assert first.next_cursor is not None
    second = await page(service, caller, {"limit": "2", "cursor": first.next_cursor})
    assert [r.id for r in second.rows] == ["r03", "r04"]
    assert second.next_cursor is not None
    last = await page(service, caller, {"limit": "2", "cursor": second.next_cursor})
    assert ([r.id for r in last.rows], last.next_cursor) == (["r05"], None)


async def test_a_full_last_page_has_no_cursor(engine: AsyncEngine, service: LrsService,
                                              new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    await insert_rows(engine, [usage_row(caller.key_id, minutes_ago(m)) for m in (1, 2)])
    assert (await page(service, caller, {"limit": "2"})).next_cursor is None


async def test_inserts_between_pages_cause_no_duplicates_and_no_gaps(
        engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    existing = [usage_row(caller.key_id, minutes_ago(m), row_id=f"old{m:03d}")
                for m in range(1, 31)]
    await insert_rows(engine, existing)
    seen: list[str] = []
    cursor: str | None = None
    for round_number in range(100):
        params = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        found = await page(service, caller, params)
        seen += [row.id for row in found.rows]
        # New requests arrive at the head; so do late rows stamped between the pages.
        await insert_rows(engine, [
            usage_row(caller.key_id, START + timedelta(seconds=round_number),
                      row_id=f"new{round_number:03d}"),
            usage_row(caller.key_id, minutes_ago(0.5), row_id=f"late{round_number:03d}"),
        ])
        cursor = found.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) >= {row["id"] for row in existing}
    assert not any(row_id.startswith(("new", "late")) for row_id in seen)


async def test_rows_with_the_same_time_are_paged_by_id(
        engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    moment = minutes_ago(3)
    await insert_rows(engine, [usage_row(caller.key_id, moment, row_id=f"same{i}")
                               for i in range(7)])
    ids = await walk(service, caller, {"limit": "3"})
    assert ids == [f"same{i}" for i in range(6, -1, -1)]


async def test_filters(engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    await insert_rows(engine, [
        usage_row(caller.key_id, minutes_ago(1), row_id="btc-ok"),
        usage_row(caller.key_id, minutes_ago(2), row_id="eth-ok", asset="ETH"),
        usage_row(caller.key_id, minutes_ago(3), row_id="eth-404", asset="ETH", status=404),
        usage_row(caller.key_id, minutes_ago(4), row_id="none-429", asset=None, status=429,
                  source=None, cache_tier=None),
        usage_row(caller.key_id, datetime(2026, 6, 1, 8, tzinfo=UTC), row_id="june-1"),
    ])

    async def ids(**params: str) -> list[str]:
        return [row.id for row in (await page(service, caller, params)).rows]

    assert await ids(asset="eth") == ["eth-ok", "eth-404"]
    assert await ids(status="error") == ["eth-404", "none-429"]
    assert await ids(status="ok") == ["btc-ok", "eth-ok", "june-1"]
    assert await ids(status="429") == ["none-429"]
    assert await ids(asset="ETH", status="ok") == ["eth-ok"]
    assert await ids(start_date="2026-06-01", end_date="2026-06-01") == ["june-1"]
    assert await ids(start_date="2026-06-20T11:57:30Z") == ["btc-ok", "eth-ok"]
    assert await ids(end_date="2026-06-20T11:57:00Z") == ["none-429", "june-1"]  # exclusive
    assert await ids(asset="DOGE") == []


async def test_only_the_last_93_days_exist(engine: AsyncEngine, service: LrsService,
                                           new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    await insert_rows(engine, [
        usage_row(caller.key_id, datetime(2026, 3, 20, 0, 0, tzinfo=UTC), row_id="day-93"),
        usage_row(caller.key_id, datetime(2026, 3, 19, 23, 59, 59, tzinfo=UTC), row_id="day-94"),
        usage_row(caller.key_id, START - timedelta(days=100), row_id="day-100"),
    ])
    assert [r.id for r in (await page(service, caller, {})).rows] == ["day-93"]
    assert [r.id for r in (await page(service, caller, {"start_date": "2026-01-01"})).rows] == [
        "day-93"]
    assert (await page(service, caller, {"end_date": "2026-03-19"})).rows == []


async def test_a_caller_never_sees_another_keys_rows(
        engine: AsyncEngine, service: LrsService, new_key: NewKey) -> None:
    mine, theirs = await new_key("unlimited"), await new_key("unlimited")
    await insert_rows(engine, [
        usage_row(mine.key_id, minutes_ago(1), row_id="mine-1"),
        *(usage_row(theirs.key_id, minutes_ago(m), row_id=f"theirs-{m}") for m in (1, 2, 3)),
    ])
    their_page = await page(service, theirs, {"limit": "1"})
    assert their_page.next_cursor is not None
    assert [r.id for r in (await page(service, mine, {})).rows] == ["mine-1"]
    assert [r.id for r in (await page(service, mine, {"cursor": their_page.next_cursor})).rows] == [
        "mine-1"]  # a cursor is only a position: it never selects a key


async def test_report_usage_lists_every_call_refusals_included(
        service: LrsService, new_key: NewKey, params: Parameters, clock: FakeClock) -> None:
    params.apply({"lrs_monthly_report_limit": "2"})
    caller, other = await new_key("free"), await new_key("free")
    await page(service, other, {})
    clock.advance(1)
    await page(service, caller, {"limit": "1"})
    clock.advance(1)
    with pytest.raises(BadRequest):
        await page(service, caller, {"asset": "B-T-C"})
    clock.advance(1)
    await service.run(caller.record, "summary", {"format": "csv"}, "udp", keep)
    clock.advance(1)
    with pytest.raises(TooManyRequests):
        await page(service, caller, {"format": "tsv"})
    clock.advance(1)
    with_add_on = msgspec.structs.replace(caller.record, lrs_enabled=True)
    history = await service.run(with_add_on, "report-usage", {}, "http", keep)
    assert isinstance(history, Page)
    assert [(r.created_at, r.report_type, r.format, r.status, r.rows, r.protocol, r.node)
            for r in history.rows if isinstance(r, ReportRow)] == [
        ("2026-06-20T12:00:04.000000Z", "usage", "tsv", 429, 0, "http", "TestNode"),
        ("2026-06-20T12:00:03.000000Z", "summary", "csv", 200, 0, "udp", "TestNode"),
        ("2026-06-20T12:00:02.000000Z", "usage", "json", 400, 0, "http", "TestNode"),
        ("2026-06-20T12:00:01.000000Z", "usage", "json", 200, 0, "http", "TestNode"),
    ]


async def test_report_usage_filters(service: LrsService, new_key: NewKey,
                                    clock: FakeClock) -> None:
    caller = await new_key("lifetime")
    for report, fmt in (("usage", "json"), ("summary", "csv"), ("usage", "text")):
        await service.run(caller.record, report, {"format": fmt}, "http", keep)
        clock.advance(1)
    with pytest.raises(BadRequest):
        await page(service, caller, {"limit": "-1"})

    async def listed(**params: str) -> list[tuple[str, str, int]]:
        rows = (await page(service, caller, params, "report-usage")).rows
        return [(r.report_type, r.format, r.status) for r in rows if isinstance(r, ReportRow)]

    assert await listed(report_type="summary") == [("summary", "csv", 200)]
    assert await listed(status="error") == [("usage", "json", 400)]
    assert await listed(status="200", limit="2") == [("report-usage", "json", 200),
                                                     ("report-usage", "json", 200)]
