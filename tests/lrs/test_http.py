"""The LRS over real HTTP: formats with their headers, the path extensions, Link pagination,
authentication by header or ``api_key_id``, isolation between keys, the allowance, logging."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import Caller, NewKey, insert_rows, minutes_ago, usage_row
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.schema import report_usage_logs
from trinity_beast.keys.cache import KeyCache


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def get(http: aiohttp.ClientSession, url: str, path: str,
              params: Mapping[str, str] | None = None,
              headers: Mapping[str, str] | None = None) -> Answer:
    async with http.get(url + path, params=params or {}, headers=headers or {}) as response:
        return Answer(response.status, response.headers, await response.read())


@pytest.fixture
async def caller(engine: AsyncEngine, new_key: NewKey) -> Caller:
    """An unlimited key with two requests; the second has a node name that needs quoting."""
    caller: Caller = await new_key("unlimited")
    await insert_rows(engine, [
        usage_row(caller.key_id, minutes_ago(1), row_id="r1"),
        usage_row(caller.key_id, minutes_ago(2), row_id="r2", asset="ETH", source=None,
                  cache_tier=None, status=404, response_time_us=7, node='Beast,\t"Mirror"'),
    ])
    return caller


def error(path: str, status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": f"❌ [LRS] [test-region] [TestNode] [{path}] [{status}]",
            "status_code": status, "endpoint": path, "error": code, "message": message}


async def test_json_page(http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/usage", {"limit": "1"}, caller.bearer)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    cursor = answer.headers["X-Next-Cursor"]
    assert answer.headers["Link"] == f'</reports/usage?limit=1&cursor={cursor}>; rel="next"'
    assert answer.json() == {
        "status": "✅ [LRS] [test-region] [TestNode] [/reports/usage] [200]", "status_code": 200,
        "endpoint": "/reports/usage", "api_key_id": caller.key_id, "count": 1,
        "rows": [{"created_at": "2026-06-20T11:59:00.000000Z", "id": "r1", "asset": "BTC",
                  "assets_count": 1, "source": "coinbase-ws", "cache_tier": "L1_MEMORY",
                  "response_time_us": 10, "status": 200, "endpoint": "/price",
                  "protocol": "http", "node": "BeastMain"}],
        "next_cursor": cursor,
    }
    last = await get(http, http_url, "/reports/usage", {"limit": "1", "cursor": cursor},
                     caller.bearer)
    assert ([r["id"] for r in last.json()["rows"]], last.json()["next_cursor"]) == (["r2"], None)
    assert "X-Next-Cursor" not in last.headers
    assert "Link" not in last.headers


CSV = (
    b"created_at,id,asset,assets_count,source,cache_tier,response_time_us,status,endpoint,"
    b"protocol,node\r\n"
    b"2026-06-20T11:59:00.000000Z,r1,BTC,1,coinbase-ws,L1_MEMORY,10,200,/price,http,BeastMain\r\n"
    b'2026-06-20T11:58:00.000000Z,r2,ETH,1,,,7,404,/price,http,"Beast,\t""Mirror"""\r\n'
)


async def test_csv_is_an_attachment_spreadsheets_open(
        http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/usage", {"format": "csv"}, caller.bearer)
    assert answer.status == 200
    assert answer.body == CSV
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="usage-{caller.key_id}-2026-06-20.csv"')
    assert answer.headers["Access-Control-Expose-Headers"] == (
        "X-Next-Cursor, Link, Content-Disposition")
    by_path = await get(http, http_url, "/reports/usage.csv", {}, caller.bearer)
    assert (by_path.body, by_path.headers["Content-Type"]) == (CSV, "text/csv; charset=utf-8")


async def test_tsv_and_text(http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    tsv = await get(http, http_url, "/reports/usage.tsv", {"status": "error"}, caller.bearer)
    assert tsv.headers["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert tsv.headers["Content-Disposition"] == (
        f'attachment; filename="usage-{caller.key_id}-2026-06-20.tsv"')
    assert tsv.body.split(b"\n")[1] == (
        b'2026-06-20T11:58:00.000000Z\tr2\tETH\t1\t\t\t7\t404\t/price\thttp\tBeast,\\t"Mirror"')
    text = await get(http, http_url, "/reports/usage", {"format": "text", "status": "error"},
                     caller.bearer)
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Disposition"] == (
        f'attachment; filename="usage-{caller.key_id}-2026-06-20.txt"')
    assert text.body.decode().splitlines()[2] == (
        "2026-06-20T11:58:00.000000Z  r2  ETH               1  -       -                          7"
        "     404  /price    http      Beast,\\t\"Mirror\"")


@pytest.mark.parametrize(("fmt", "body"), [
    ("csv", b"created_at,id,report_type,format,status,rows,response_time_us,protocol,node\r\n"),
    ("tsv", b"created_at\tid\treport_type\tformat\tstatus\trows\tresponse_time_us\tprotocol"
            b"\tnode\n"),
    ("text", b"created_at  id  report_type  format  status  rows  response_time_us  protocol"
             b"  node\n"
             b"----------  --  -----------  ------  ------  ----  ----------------  --------"
             b"  ----\n"
             b"(no rows)\n"),
])
async def test_empty_listings(http: aiohttp.ClientSession, http_url: str, new_key: NewKey,
                              fmt: str, body: bytes) -> None:
    caller = await new_key("lifetime")
    answer = await get(http, http_url, "/reports/report-usage", {"format": fmt}, caller.bearer)
    assert (answer.status, answer.body) == (200, body)


async def test_summary_as_csv(http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/summary.csv", {}, caller.bearer)
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="summary-{caller.key_id}-2026-06-20.csv"')
    assert answer.body.decode() == "\r\n".join([
        "metric,key,value", "from,,2026-03-20T00:00:00.000000Z", "to,,2026-06-21T00:00:00.000000Z",
        "requests,,2", "errors,,1", "latency_avg_us,,8", "latency_p50_us,,8", "latency_p95_us,,10",
        "latency_p99_us,,10", "latency_max_us,,10", "quota_limit,,", "quota_used,,0",
        "quota_remaining,,", "requests_by_day,2026-06-20,2", "errors_by_day,2026-06-20,1",
        "requests_by_asset,BTC,1", "errors_by_asset,BTC,0", "requests_by_asset,ETH,1",
        "errors_by_asset,ETH,1", "requests_by_source,coinbase-ws,1",
        "errors_by_source,coinbase-ws,0",
        "requests_by_source,,1", "errors_by_source,,1", "requests_by_cache_tier,L1_MEMORY,1",
        "errors_by_cache_tier,L1_MEMORY,0", "requests_by_cache_tier,,1",
        "errors_by_cache_tier,,1", "requests_by_status,200,1", "errors_by_status,200,0",
        "requests_by_status,404,1", "errors_by_status,404,1", "",
    ])


async def test_a_path_extension_and_another_format_conflict(
        http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/usage.csv", {"format": "json"}, caller.bearer)
    assert (answer.status, answer.headers["Content-Type"]) == (400, "application/json")
    assert answer.json() == error("/reports/usage.csv", 400, "invalid_format",
                                  "only format=csv is served here")


async def test_api_key_id_accepts_the_key_itself(
        http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/usage",
                       {"api_key_id": caller.key, "limit": "1"})
    assert answer.status == 200
    assert [r["id"] for r in answer.json()["rows"]] == ["r1"]
    assert caller.key not in answer.headers["Link"]
    assert "api_key_id" not in answer.headers["Link"]


@pytest.mark.parametrize(("case", "status", "code", "message"), [
    ("nothing", 401, "missing_api_key",
     "send your API key as 'Authorization: Bearer YOUR_API_KEY' or as the api_key_id parameter"),
    ("key id alone", 401, "invalid_api_key",
     "api_key_id must be your API key itself; a key id (ak_…) is not secret and cannot "
     "authenticate"),
    ("wrong key", 401, "invalid_api_key", "that API key is not valid"),
    ("basic auth", 401, "invalid_api_key",
     "the Authorization header must be 'Bearer YOUR_API_KEY'"),
    ("other key id", 403, "forbidden",
     "api_key_id names a different API key than the Authorization header; a key can only read "
     "its own reports"),
    ("other key", 403, "forbidden",
     "api_key_id names a different API key than the Authorization header; a key can only read "
     "its own reports"),
])
async def test_refused_credentials(http: aiohttp.ClientSession, http_url: str, caller: Caller,
                                   new_key: NewKey, engine: AsyncEngine, case: str, status: int,
                                   code: str, message: str) -> None:
    other = await new_key("unlimited")
    params, headers = {
        "nothing": ({}, {}),
        "key id alone": ({"api_key_id": caller.key_id}, {}),
        "wrong key": ({"api_key_id": caller.key + "x"}, {}),
        "basic auth": ({}, {"Authorization": "Basic dXNlcjpwYXNz"}),
        "other key id": ({"api_key_id": other.key_id}, caller.bearer),
        "other key": ({"api_key_id": other.key}, caller.bearer),
    }[case]
    for path in ("/reports/usage", "/reports/summary", "/reports/report-usage",
                 "/reports/report-summary.csv"):
        answer = await get(http, http_url, path, params, headers)
        assert (answer.status, answer.json()) == (status, error(path, status, code, message))
    assert await logged(engine) == []


async def test_the_own_key_id_next_to_the_header_is_accepted(
        http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    answer = await get(http, http_url, "/reports/usage", {"api_key_id": caller.key_id},
                       caller.bearer)
    assert [r["id"] for r in answer.json()["rows"]] == ["r1", "r2"]


async def test_a_revoked_key_is_refused(http: aiohttp.ClientSession, http_url: str,
                                        caller: Caller, engine: AsyncEngine,
                                        key_cache: KeyCache) -> None:
    key_cache.put(await SqlKeyStore(engine).revoke(caller.key_id))
    answer = await get(http, http_url, "/reports/summary", {}, caller.bearer)
    assert answer.status == 401
    assert answer.json()["error"] == "revoked_api_key"


async def test_no_parameter_reaches_another_keys_rows(
        http: aiohttp.ClientSession, http_url: str, caller: Caller, new_key: NewKey,
        engine: AsyncEngine) -> None:
    other = await new_key("unlimited")
    await insert_rows(engine, [usage_row(other.key_id, minutes_ago(m), row_id=f"x{m}",
                                         asset="DOGE") for m in (1, 3, 5)])
    their = await get(http, http_url, "/reports/usage", {"limit": "1"}, other.bearer)
    attempts: list[dict[str, str]] = [
        {}, {"asset": "DOGE"}, {"cursor": their.json()["next_cursor"]},
        {"api_key_id": caller.key_id, "asset": "doge"}, {"status": "200", "limit": "1000"},
        {"start_date": "2026-01-01", "end_date": "2027-01-01"},
    ]
    for params in attempts:
        answer = await get(http, http_url, "/reports/usage", params, caller.bearer)
        assert {r["id"] for r in answer.json()["rows"]} <= {"r1", "r2"}, params
    summary = (await get(http, http_url, "/reports/summary", {"asset": "DOGE"},
                         caller.bearer)).json()
    assert (summary["api_key_id"], summary["count"]) == (caller.key_id, 0)
    history = (await get(http, http_url, "/reports/report-usage", {"limit": "1000"},
                         caller.bearer)).json()
    assert len(history["rows"]) == len(attempts) + 1  # its own calls only
    reports = (await get(http, http_url, "/reports/report-summary", {}, caller.bearer)).json()
    assert reports["count"] == len(attempts) + 2


async def test_the_eleventh_report_of_the_month_is_refused(
        http: aiohttp.ClientSession, http_url: str, new_key: NewKey, engine: AsyncEngine) -> None:
    caller = await new_key("pro")
    for _ in range(5):
        assert (await get(http, http_url, "/reports/summary", {}, caller.bearer)).status == 200
        assert (await get(http, http_url, "/reports/usage.tsv", {"api_key_id": caller.key})
                ).status == 200
    answer = await get(http, http_url, "/reports/report-summary", {}, caller.bearer)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == str(10 * 86400 + 12 * 3600)
    message = ("you have used all 10 reports of 2026-06; the allowance renews on 2026-07-01 "
               "(UTC). For unlimited reports add the Unlimited LRS Add-On ($20/month).")
    assert answer.json() == {**error("/reports/report-summary", 429, "report_limit", message),
                             "retry_after": 10 * 86400 + 12 * 3600}
    assert sorted(row[2:] for row in await logged(engine)) == [
        ("report-summary", "json", 429), *[("summary", "json", 200)] * 5,
        *[("usage", "tsv", 200)] * 5]


async def test_bad_parameters_are_logged_but_not_counted(
        http: aiohttp.ClientSession, http_url: str, new_key: NewKey, engine: AsyncEngine) -> None:
    caller = await new_key("free")
    answer = await get(http, http_url, "/reports/usage", {"limit": "0"}, caller.bearer)
    assert answer.json() == error("/reports/usage", 400, "invalid_limit",
                                  "limit must be a whole number from 1 to 1000")
    allowance = (await get(http, http_url, "/reports/report-summary", {}, caller.bearer)).json()
    assert allowance["allowance"] == {"month": "2026-06", "limit": 10, "used": 1, "remaining": 9}
    assert sorted(row[2:] for row in await logged(engine)) == [
        ("report-summary", "json", 200), ("usage", "json", 400)]


async def test_methods(http: aiohttp.ClientSession, http_url: str, caller: Caller) -> None:
    async with http.post(http_url + "/reports/usage", headers=caller.bearer) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, OPTIONS"
    async with http.options(http_url + "/reports/usage.csv") as response:
        assert response.status == 204
    answer = await get(http, http_url, "/reports/nothing", {}, caller.bearer)
    assert answer.status == 404


async def logged(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    t = report_usage_logs.c
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(t.api_key_id, t.created_at, t.report_type, t.format,
                                            t.status))
        return [tuple(row) for row in rows]

