"""The LRS over real UDP round trips: the same reports as HTTP in one datagram, pages and
summaries cut to fit, one allowance for both protocols, and garbage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import (
    START,
    Caller,
    NewKey,
    UdpClient,
    insert_rows,
    minutes_ago,
    usage_row,
)
from trinity_beast.db.schema import report_usage_logs
from trinity_beast.lrs.datagen import insert_usage, synthetic_rows
from trinity_beast.lrs.service import LrsService
from trinity_beast.lrs.udp import UdpLrsServer
from trinity_beast.params.values import Parameters
from trinity_beast.udp.guard import ReplyGuard
from trinity_beast.udp.replies import MAX_REPLY_BYTES


def without_size(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "_bytes"}


async def http_json(http: aiohttp.ClientSession, url: str, caller: Caller,
                    params: dict[str, str]) -> Any:
    async with http.get(url, params=params, headers=caller.bearer) as response:
        return await response.json()


def error(path: str, status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": f"❌ [LRS] [test-region] [TestNode] [{path}] [{status}]",
            "status_code": status, "endpoint": path, "error": code, "message": message}


async def test_a_summary_is_the_http_body(engine: AsyncEngine, udp: UdpClient,
                                          http: aiohttp.ClientSession, http_url: str,
                                          new_key: NewKey) -> None:
    caller = await new_key("unlimited")
    await insert_rows(engine, [usage_row(caller.key_id, minutes_ago(m), asset=a)
                               for m, a in ((1, "BTC"), (2, "ETH"), (3, "BTC"))])
    answer = await udp.ask({"api_key": caller.key, "report": "summary", "status": "ok"})
    assert answer["_bytes"] <= MAX_REPLY_BYTES
    expected = await http_json(http, http_url + "/reports/summary", caller, {"status": "ok"})
    assert without_size(answer) == expected
    assert (answer["count"], answer["breakdowns"]["asset"]) == (
        3, [{"key": "BTC", "count": 2, "errors": 0}, {"key": "ETH", "count": 1, "errors": 0}])


async def test_usage_pages_fit_a_datagram_and_continue(
        engine: AsyncEngine, udp: UdpClient, http: aiohttp.ClientSession, http_url: str,
        new_key: NewKey) -> None:
    caller = await new_key("partner")
    await insert_rows(engine, [usage_row(caller.key_id, minutes_ago(m), row_id=f"row{m:02d}")
                               for m in range(1, 41)])
    ids: list[str] = []
    cursor = None
    sizes = []
    while True:
        request = {"api_key": caller.key, "report": "usage", "limit": 1000}
        answer = await udp.ask({**request, "cursor": cursor} if cursor else request)
        sizes.append((answer["_bytes"], answer["count"]))
        ids += [row["id"] for row in answer["rows"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    listing = await http_json(http, http_url + "/reports/usage", caller, {"limit": "1000"})
    assert ids == [row["id"] for row in listing["rows"]] == [f"row{m:02d}" for m in range(1, 41)]
    assert all(size <= MAX_REPLY_BYTES for size, _ in sizes)
    assert sizes[0][1] == 5  # 5 rows of about 250 bytes fill a datagram


async def test_a_large_summary_loses_its_longest_breakdowns_first(
        engine: AsyncEngine, udp: UdpClient, http: aiohttp.ClientSession, http_url: str,
        new_key: NewKey) -> None:
    caller = await new_key("lifetime")
    await insert_usage(engine, synthetic_rows([caller.key_id], 2000, end=START, days=40))
    answer = await udp.ask({"api_key": caller.key, "report": "summary"})
    full = await http_json(http, http_url + "/reports/summary", caller, {})
    assert answer["_bytes"] <= MAX_REPLY_BYTES
    assert answer["truncated"] == ["asset", "day", "source"]
    assert {k: answer[k] for k in ("count", "errors", "latency_us", "quota")} == {
        k: full[k] for k in ("count", "errors", "latency_us", "quota")}
    kept_days = answer["breakdowns"]["day"]
    assert kept_days == full["breakdowns"]["day"][-len(kept_days):]  # the most recent days
    kept_assets = answer["breakdowns"]["asset"]
    assert kept_assets == full["breakdowns"]["asset"][:len(kept_assets)]  # the most used
    assert answer["breakdowns"]["status"] == full["breakdowns"]["status"]


async def test_one_allowance_for_http_and_udp(
        engine: AsyncEngine, udp: UdpClient, http: aiohttp.ClientSession, http_url: str,
        new_key: NewKey) -> None:
    caller = await new_key("enterprise")
    for _ in range(6):
        await http_json(http, http_url + "/reports/summary", caller, {})
    for report in ("usage", "summary", "report-usage", "report-summary"):
        assert (await udp.ask({"api_key": caller.key, "report": report}))["status_code"] == 200
    refused = await udp.ask({"api_key": caller.key, "report": "summary"})
    assert without_size(refused) == {"status_code": 429, "error": "report_limit",
                                     "retry_after": 10 * 86400 + 12 * 3600.0}
    padded = msgspec.json.encode({"api_key": caller.key, "report": "usage"}) + b" " * 400
    assert without_size(await udp.ask(padded)) == {
        **error("/reports/usage", 429, "report_limit",
                "you have used all 10 reports of 2026-06; the allowance renews on 2026-07-01 "
                "(UTC). For unlimited reports add the Unlimited LRS Add-On ($20/month)."),
        "retry_after": 10 * 86400 + 12 * 3600.0}
    assert (await http_json(http, http_url + "/reports/usage", caller, {}))["status_code"] == 429
    t = report_usage_logs.c
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(t.protocol, t.status, sa.func.count())
                                  .group_by(t.protocol, t.status))
        assert sorted(tuple(r) for r in rows) == [("http", 200, 6), ("http", 429, 1),
                                                 ("udp", 200, 4), ("udp", 429, 2)]


async def test_the_allowance_renews_on_the_first_for_udp_too(
        udp: UdpClient, new_key: NewKey, service: LrsService, params: Parameters) -> None:
    params.apply({"lrs_monthly_report_limit": "1"})
    caller = await new_key("free")
    assert (await udp.ask({"api_key": caller.key, "report": "summary"}))["status_code"] == 200
    assert (await udp.ask({"api_key": caller.key, "report": "summary"}))["error"] == (
        "report_limit")
    service.clock = datetime(2026, 7, 1, tzinfo=UTC).timestamp
    assert (await udp.ask({"api_key": caller.key, "report": "summary"}))["status_code"] == 200


async def test_udp_serves_json_only(udp: UdpClient, new_key: NewKey,
                                    engine: AsyncEngine) -> None:
    caller = await new_key("free")
    answer = await udp.ask({"api_key": caller.key, "report": "usage", "format": "csv"})
    assert without_size(answer) == error("/reports/usage", 400, "invalid_format",
                                         "only format=json is served here")
    async with engine.connect() as conn:
        logged = (await conn.execute(sa.select(report_usage_logs.c.format,
                                               report_usage_logs.c.protocol,
                                               report_usage_logs.c.status))).all()
    assert [tuple(r) for r in logged] == [("csv", "udp", 400)]


PAD = b" " * 400
GARBAGE = [
    (b"\xff\x00not json" + PAD, "/reports", 400, "invalid_json",
     'send one JSON object: {"api_key":"…","report":"summary"}'),
    (b"[1, 2]" + PAD, "/reports", 400, "invalid_json", "the request must be a JSON object"),
    (b'{"api_key": "x", "report": "everything"}' + PAD, "/reports", 400, "unknown_report",
     "'report' must be one of usage, summary, report-usage, report-summary"),
    (b'{"api_key": 5, "report": "usage"}' + PAD, "/reports", 400, "invalid_api_key",
     "'api_key' must be a string"),
    (b'{"api_key": "k", "report": "usage", "limit": [1]}' + PAD, "/reports", 400,
     "invalid_parameter", "'limit' must be a string or an integer"),
    (b'{"api_key": "nope", "report": "usage"}' + PAD, "/reports/usage", 401, "invalid_api_key",
     "that API key is not valid"),
    (b'{"report": "summary"}' + PAD, "/reports/summary", 401, "missing_api_key",
     "send your API key as 'Authorization: Bearer YOUR_API_KEY' or as the api_key_id parameter"),
    (b" " * 2049, "/reports", 413, "payload_too_large",
     "a request datagram may hold at most 2048 bytes"),
]


@pytest.mark.parametrize(("data", "endpoint", "status", "code", "message"), GARBAGE)
async def test_garbage_gets_an_error_no_larger_than_itself(
        udp: UdpClient, data: bytes, endpoint: str, status: int, code: str, message: str) -> None:
    answer = await udp.ask(data)
    assert without_size(answer) == error(endpoint, status, code, message)
    assert answer["_bytes"] <= len(data)


async def test_small_garbage_gets_the_short_error_and_tiny_garbage_nothing(
        udp: UdpClient, udp_server: UdpLrsServer) -> None:
    udp.send(b"?")
    answer = await udp.ask(b'{"report":"summary","api_key":"not a key at all"}')
    assert without_size(answer) == {"status_code": 401, "error": "invalid_api_key"}
    assert udp.answers.empty()
    counters = udp_server.counters
    assert (counters.received, counters.refused, counters.dropped_malformed,
            counters.answered) == (2, 2, 1, 1)


async def test_an_admitted_request_with_a_bad_parameter_gets_the_full_error(
        udp: UdpClient, new_key: NewKey) -> None:
    caller = await new_key("free")
    answer = await udp.ask({"api_key": caller.key, "report": "usage", "limit": 0})
    assert without_size(answer) == error("/reports/usage", 400, "invalid_limit",
                                         "limit must be a whole number from 1 to 1000")
    assert answer["_bytes"] > 100


async def test_refusals_to_one_source_are_rate_limited(
        service: LrsService, params: Parameters, new_key: NewKey) -> None:
    guard = ReplyGuard(rate=1.0, burst=2, global_rate=100.0, global_burst=100.0,
                       clock=lambda: 0.0)
    server = UdpLrsServer(service, params, guard=guard)
    await server.start("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        UdpClient, remote_addr=("127.0.0.1", server.port))
    try:
        for _ in range(5):
            client.send(GARBAGE[0][0])
        first, second = await client.ask(GARBAGE[0][0]), await client.answers.get()
        assert first["error"] == msgspec.json.decode(second)["error"] == "invalid_json"
        caller = await new_key("free")
        answer = await client.ask({"api_key": caller.key, "report": "summary"})
        assert answer["count"] == 0
        counters = server.counters
        assert (counters.received, counters.refused, counters.dropped_amplification,
                counters.answered) == (7, 6, 4, 3)
        assert client.answers.empty()
    finally:
        transport.close()
        await server.stop()


async def test_admitted_requests_beyond_the_governor_are_told_so(
        service: LrsService, new_key: NewKey) -> None:
    server = UdpLrsServer(service, Parameters({"udp_max_concurrent_lrs": "1"}))
    await server.start("127.0.0.1", 0)
    transport, client = await asyncio.get_running_loop().create_datagram_endpoint(
        UdpClient, local_addr=("127.0.0.1", 0))
    try:
        caller = await new_key("free")
        address = transport.get_extra_info("sockname")
        request = msgspec.json.encode({"api_key": caller.key, "report": "summary"})
        server.datagram_received(request, address)
        server.datagram_received(request, address)
        answers = [msgspec.json.decode(await asyncio.wait_for(client.answers.get(), 5.0))
                   for _ in range(2)]
        busy = error("/reports/summary", 503, "overloaded",
                     "every UDP work slot is busy; try again")
        assert answers[0] == {**busy, "retry_after": 1.0}
        assert answers[1]["status_code"] == 200
        assert (server.counters.dropped_governor, server.governor.in_flight) == (1, 0)
    finally:
        transport.close()
        await server.stop()
