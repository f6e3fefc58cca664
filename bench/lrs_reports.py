"""LRS reports on 10,000,000 usage logs: ``/reports/summary`` and the first ``/reports/usage``
page of a key with 1,000,000 of them (issue 4).

Goals: summary < 200 ms, usage first page < 20 ms.

Setup: a fresh PostgreSQL schema on 127.0.0.1, migrated; a ``partner`` key (unlimited reports,
so the monthly allowance never refuses a call) owning 1,000,000 ``usage_logs`` rows and 3,000
other keys owning 9,000,000, over the 93 days before now (``trinity_beast.lrs.datagen``, merged
in time order, written with COPY), then ``ANALYZE``. The LRS is built as ``app.py`` builds it —
``LrsService`` over the stores' engine, ``LrsRoutes`` in an ``HttpApp`` with the IP guard (not
the admin routes, which no report call reaches), an ``HttpServer`` on a loopback port — and
called over HTTP by aiohttp in the same process, one request at a time (every call takes the
allowance ``INSERT … RETURNING`` and writes its ``report_usage_logs`` row, as in production).

Measured, in alternating rounds after one warm-up round, medians and slowest reported:

* before the rollup: our summary (every day read from ``usage_logs``) against the reference;
* ``lrs.rollup.rollup_usage`` (the first run: every complete day of the window), timed;
* after it (and ``ANALYZE``): our summary (92 rolled days from ``usage_daily`` + today from
  ``usage_logs``), the **reference** — the same summary as one aggregate SQL statement over
  ``usage_logs`` without the rollup (exact percentiles with ``percentile_cont``) — our first
  usage page (100 rows), the page's SQL alone (asyncpg), the allowance write alone, and two
  extra calls: ``summary?asset=BTC`` and ``usage?format=csv&limit=1000``.

The page's plan (``EXPLAIN ANALYZE``) is recorded for this key and for one of the other keys.

Our summary is checked against the reference: the same counts, errors and breakdowns, exactly.
``BENCH_QUICK=1``: 200,000 rows (20,000 of the key), fewer rounds.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import msgspec
from _pg import POSTGRES, fresh_schema, require
from tools import log

from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.ip_guard import IpGuard
from trinity_beast.api.router import HttpApp
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.stores import Stores, build_stores
from trinity_beast.http import HttpLimits, HttpServer
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.model import KeyRecord
from trinity_beast.lrs import LrsRoutes, LrsService, rollup_usage
from trinity_beast.lrs.allowance import consume
from trinity_beast.lrs.datagen import UsageTuple, insert_usage, synthetic_rows
from trinity_beast.settings import Settings

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROWS = 200_000 if QUICK else 10_000_000
HEAVY_ROWS = ROWS // 10
OTHER_KEYS = 3_000
DAYS = 93
ROUNDS = 3 if QUICK else 15
UNROLLED_ROUNDS = 1 if QUICK else 3
GOAL_SUMMARY_MS = 200.0
GOAL_PAGE_MS = 20.0
TIME_BUDGET_SECONDS = 1500
PAGE_ROWS = 100

REFERENCE_SUMMARY = """
WITH r AS MATERIALIZED (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, asset, source, cache_tier, status,
           response_time_us AS us
    FROM usage_logs WHERE api_key_id = $1 AND created_at >= $2 AND created_at < $3)
SELECT 'total', NULL, count(*), count(*) FILTER (WHERE status >= 400), avg(us)::float8,
       max(us), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY us) FROM r
UNION ALL SELECT 'day', to_char(day, 'YYYY-MM-DD'), count(*),
       count(*) FILTER (WHERE status >= 400), NULL, NULL, NULL FROM r GROUP BY day
UNION ALL SELECT 'asset', asset, count(*), count(*) FILTER (WHERE status >= 400), NULL, NULL,
       NULL FROM r GROUP BY asset
UNION ALL SELECT 'source', source, count(*), count(*) FILTER (WHERE status >= 400), NULL, NULL,
       NULL FROM r GROUP BY source
UNION ALL SELECT 'cache_tier', cache_tier, count(*), count(*) FILTER (WHERE status >= 400), NULL,
       NULL, NULL FROM r GROUP BY cache_tier
UNION ALL SELECT 'status', status::text, count(*), count(*) FILTER (WHERE status >= 400), NULL,
       NULL, NULL FROM r GROUP BY status
"""
"""The direct way: one aggregate statement over the raw rows (what the rollup replaces)."""

PAGE_QUERY = """
SELECT created_at, id, asset, assets_count, source, cache_tier, response_time_us, status,
       endpoint, protocol, node
FROM usage_logs
WHERE api_key_id = $1::VARCHAR AND created_at >= $2::TIMESTAMP WITH TIME ZONE
  AND created_at < $3::TIMESTAMP WITH TIME ZONE
ORDER BY created_at DESC, id DESC LIMIT $4::INTEGER
"""
"""The first page's SQL as ``lrs.queries.usage_page`` compiles it, without the service around."""

OURS = {
    "summary": "/reports/summary",
    "usage_page": "/reports/usage",
    "summary_btc": "/reports/summary?asset=BTC",
    "usage_csv_1000": "/reports/usage?format=csv&limit=1000",
}


OTHERS = [f"ak_live_{i:012x}" for i in range(OTHER_KEYS)]
QUIET_KEY = OTHERS[0]
"""One of the other keys (about 3,000 rows in the full run): its page plan is recorded too."""


def _usage_rows(heavy_key: str, end: datetime) -> Iterator[UsageTuple]:
    """The heavy key's rows and the other keys' rows, merged oldest first (as they arrive)."""
    return heapq.merge(synthetic_rows([heavy_key], HEAVY_ROWS, end=end, days=DAYS, seed=1),
                       synthetic_rows(OTHERS, ROWS - HEAVY_ROWS, end=end, days=DAYS, seed=2),
                       key=lambda row: row[-1])


async def _timed_ms(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


class Client:
    """HTTP calls to the LRS with the heavy key, and the direct SQL, on one connection each."""

    def __init__(self, base: str, key: str, record: KeyRecord, session: aiohttp.ClientSession,
                 stores: Stores, db: asyncpg.Connection) -> None:
        self.base, self.record, self.session, self.stores, self.db = (
            base, record, session, stores, db)
        self.key_id = record.key_id
        self.headers = {"Authorization": f"Bearer {key}"}
        self.window: tuple[datetime, datetime] | None = None

    async def report(self, path: str) -> bytes:
        async with self.session.get(self.base + path, headers=self.headers) as answer:
            body = await answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status} {body[:300]!r}")
            return body

    async def reference_summary(self) -> list[asyncpg.Record]:
        assert self.window is not None
        rows: list[asyncpg.Record] = await self.db.fetch(REFERENCE_SUMMARY, self.key_id,
                                                         *self.window)
        return rows

    async def page_query(self, key_id: str | None = None) -> list[asyncpg.Record]:
        assert self.window is not None
        rows: list[asyncpg.Record] = await self.db.fetch(PAGE_QUERY, key_id or self.key_id,
                                                         *self.window, PAGE_ROWS + 1)
        return rows

    async def allowance_write(self) -> int:
        """The allowance's committed ``INSERT … ON CONFLICT … RETURNING``, which every call
        makes before its query (a second committed write, its log row, comes after)."""
        limit = self.stores.params.get_int("lrs_monthly_report_limit")
        return await consume(self.stores.engine, self.record, datetime.now(UTC), limit)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_summary(ours: dict[str, Any], reference: list[asyncpg.Record]) -> dict[str, Any]:
    """Raise unless both summaries hold the same counts, errors and breakdowns; returns the
    latency figures of both (ours are histogram estimates, the reference's exact)."""
    total = next(row for row in reference if row[0] == "total")
    theirs: dict[str, dict[str | None, tuple[int, int]]] = {}
    for name, key, count, errors, *_ in reference:
        if name != "total":
            theirs.setdefault(name, {})[key] = (count, errors)
    mine = {name: {group["key"]: (group["count"], group["errors"]) for group in groups}
            for name, groups in ours["breakdowns"].items()}
    if (ours["count"], ours["errors"]) != (total[2], total[3]) or mine != theirs:
        raise AssertionError(f"our summary differs from the reference: {ours['count']} "
                             f"requests, {ours['errors']} errors against {total[2]}, {total[3]}")
    p50, p95, p99 = total[6]
    return {"ours": ours["latency_us"],
            "reference_exact": {"avg": round(total[4], 1), "p50": p50, "p95": p95, "p99": p99,
                                "max": total[5]}}


async def _unrolled(client: Client) -> dict[str, Any]:
    """Our summary with nothing rolled up (every day from ``usage_logs``) vs the reference."""
    ours: list[float] = []
    reference: list[float] = []
    for round_number in range(UNROLLED_ROUNDS):
        seconds, body = await _timed_ms(lambda: client.report(OURS["summary"]))
        ours.append(seconds)
        if client.window is None:
            summary = msgspec.json.decode(body)
            client.window = (_parse_time(summary["from"]), _parse_time(summary["to"]))
        reference.append((await _timed_ms(client.reference_summary))[0])
        log(f"lrs_reports: not rolled up, round {round_number + 1}: ours {ours[-1]:.0f} ms, "
            f"reference {reference[-1]:.0f} ms")
    return {"ours": _figures(ours), "reference": _figures(reference)}


async def _round(client: Client) -> dict[str, float]:
    """One call of each, ours and the references alternating."""
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("summary", lambda: client.report(OURS["summary"])),
        ("reference_summary", client.reference_summary),
        ("usage_page", lambda: client.report(OURS["usage_page"])),
        ("page_query", client.page_query),
        ("allowance_write", client.allowance_write),
        ("summary_btc", lambda: client.report(OURS["summary_btc"])),
        ("usage_csv_1000", lambda: client.report(OURS["usage_csv_1000"])),
    ]
    return {name: (await _timed_ms(call))[0] for name, call in steps}


async def _rolled(client: Client) -> dict[str, Any]:
    warm_up = await _round(client)
    rounds = []
    for round_number in range(ROUNDS):
        rounds.append(await _round(client))
        log(f"lrs_reports: round {round_number + 1}: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in rounds[-1].items()))
    figures = {name: _figures([one[name] for one in rounds]) for name in warm_up}
    for name, ms in warm_up.items():
        figures[name]["warm_up_ms"] = round(ms, 2)
    return figures


def _figures(values: list[float]) -> dict[str, Any]:
    return {"median_ms": round(statistics.median(values), 2), "slowest_ms": round(max(values), 2),
            "fastest_ms": round(min(values), 2), "all_ms": [round(v, 2) for v in values]}


async def _checks(client: Client) -> dict[str, Any]:
    """Our answers against the direct SQL: the summary's figures, the first page's ids."""
    summary = msgspec.json.decode(await client.report(OURS["summary"]))
    latency = check_summary(summary, await client.reference_summary())
    page = msgspec.json.decode(await client.report(OURS["usage_page"]))
    expected = [row["id"] for row in (await client.page_query())[:PAGE_ROWS]]
    if [row["id"] for row in page["rows"]] != expected:
        raise AssertionError("our first usage page differs from the page query")
    return {"summary_requests": summary["count"], "summary_errors": summary["errors"],
            "latency_us": latency, "page_rows": len(page["rows"]),
            "page_plan": await _page_plan(client, client.key_id),
            "quiet_key_page_plan": await _page_plan(client, QUIET_KEY)}


async def _page_plan(client: Client, key_id: str) -> dict[str, Any]:
    """How PostgreSQL reads the first page of ``key_id`` (EXPLAIN ANALYZE, custom plan)."""
    assert client.window is not None
    plan = await client.db.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {PAGE_QUERY}",
                                    key_id, *client.window, PAGE_ROWS + 1)
    rows = await client.db.fetchval("SELECT count(*) FROM usage_logs WHERE api_key_id = $1",
                                    key_id)
    return {"key_rows": rows, **_plan_outline(msgspec.json.decode(plan)[0])}


def _plan_outline(plan: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    node: dict[str, Any] | None = plan["Plan"]
    while node is not None:
        nodes.append(" ".join(filter(None, [node["Node Type"], node.get("Index Name")])))
        node = (node.get("Plans") or [None])[0]
    top = plan["Plan"]
    return {"nodes": nodes, "execution_ms": plan["Execution Time"],
            "shared_buffers_hit": top.get("Shared Hit Blocks"),
            "shared_buffers_read": top.get("Shared Read Blocks")}


async def _facts(db: asyncpg.Connection, heavy_key: str) -> dict[str, Any]:
    """Rows and sizes of the two tables a summary reads, and the server's memory settings."""
    facts: dict[str, Any] = {"rows": {
        "usage_logs": await db.fetchval("SELECT count(*) FROM usage_logs"),
        "usage_logs_heavy_key": await db.fetchval(
            "SELECT count(*) FROM usage_logs WHERE api_key_id = $1", heavy_key),
        "usage_daily": await db.fetchval("SELECT count(*) FROM usage_daily"),
        "usage_daily_heavy_key": await db.fetchval(
            "SELECT count(*) FROM usage_daily WHERE api_key_id = $1", heavy_key),
    }}
    sizes = {}
    for table in ("usage_logs", "usage_daily"):
        row = await db.fetchrow(
            "SELECT pg_total_relation_size($1::regclass), pg_relation_size($1::regclass), "
            "pg_indexes_size($1::regclass)", table)
        sizes[table] = {"total_mb": _mb(row[0]), "table_mb": _mb(row[1]),
                        "indexes_mb": _mb(row[2])}
    facts["sizes"] = sizes
    facts["postgres"] = {name: await db.fetchval(f"SHOW {name}")
                         for name in ("server_version", "shared_buffers", "work_mem")}
    return facts


def _mb(size: int) -> float:
    return round(size / 1_048_576, 1)


async def _load(stores: Stores, schema: str) -> tuple[str, KeyRecord, dict[str, Any]]:
    """Migrate, create the heavy key, write the rows and ANALYZE; returns the key, its record
    and the load figures."""
    await upgrade(stores.engine)
    key, record = await stores.keys.create("partner", name="lrs bench heavy key")
    end = datetime.now(UTC)
    log(f"lrs_reports: writing {ROWS:,} usage rows ({HEAVY_ROWS:,} of {record.key_id})")
    started = time.perf_counter()
    written = await insert_usage(stores.engine, _usage_rows(record.key_id, end))
    seconds = time.perf_counter() - started
    await _sql(schema, "ANALYZE usage_logs")
    log(f"lrs_reports: {written:,} rows in {seconds:.0f} s")
    return key, record, {"rows": written, "seconds": round(seconds, 1),
                         "rows_per_s": round(written / seconds)}


async def _sql(schema: str, statement: str) -> float:
    connection = await asyncpg.connect(POSTGRES, server_settings={"search_path": schema})
    try:
        return (await _timed_ms(lambda: connection.execute(statement)))[0] / 1000
    finally:
        await connection.close()


async def _serve(stores: Stores, keys: KeyCache) -> HttpServer:
    """The LRS HTTP listener as ``Beast._start_lrs`` wires it (less the admin routes), on a
    loopback port."""
    params = stores.params
    envelope = Envelope("LRS", stores.settings.region, stores.settings.node)
    service = LrsService(stores.engine, Authenticator(keys), params, envelope)
    app = HttpApp(envelope, LrsRoutes(service).table(), ip_guard=IpGuard(params))
    server = HttpServer(app, limits=HttpLimits.from_parameters(params),
                        error_factory=app.error_factory)
    await server.start("127.0.0.1", 0)
    return server


async def _measure(stores: Stores, schema: str) -> dict[str, Any]:
    key, record, load = await _load(stores, schema)
    keys = KeyCache()
    keys.put(record)
    server = await _serve(stores, keys)
    db = await asyncpg.connect(POSTGRES, server_settings={"search_path": schema})
    try:
        async with aiohttp.ClientSession() as session:
            client = Client(f"http://127.0.0.1:{server.port}", key, record, session, stores,
                            db)
            unrolled = await _unrolled(client)
            started = time.perf_counter()
            rollup = await rollup_usage(stores.engine)
            rollup_s = time.perf_counter() - started
            log(f"lrs_reports: rollup of {len(rollup.days)} days in {rollup_s:.0f} s")
            analyze_s = await _sql(schema, "ANALYZE usage_daily")
            checks = await _checks(client)
            calls = await _rolled(client)
        facts = await _facts(db, record.key_id)
    finally:
        await db.close()
        await server.shutdown(grace=1.0)
    return {"load": load, "unrolled": unrolled, "checks": checks, "calls": calls, **facts,
            "rollup": {"days": len(rollup.days), "seconds": round(rollup_s, 1),
                       "rolled_through": str(rollup.rolled_through),
                       "analyze_s": round(analyze_s, 2)}}


async def _run() -> dict[str, Any]:
    async with fresh_schema("bench_lrs") as (schema, url):
        stores = build_stores(Settings(database_url=url, seed_demo_key=False))
        try:
            measured = await _measure(stores, schema)
        finally:
            await stores.aclose()
    calls = measured["calls"]
    ratio = calls["reference_summary"]["median_ms"] / calls["summary"]["median_ms"]
    return {**measured, "quick": QUICK, "rounds": ROUNDS, "summary_ratio": round(ratio, 1),
            "goals": {"summary_ms": GOAL_SUMMARY_MS, "usage_page_ms": GOAL_PAGE_MS,
                      "summary_met": calls["summary"]["median_ms"] < GOAL_SUMMARY_MS,
                      "usage_page_met": calls["usage_page"]["median_ms"] < GOAL_PAGE_MS},
            "client": "aiohttp in the server's process and event loop, one request at a time; "
                      "not pinned (PostgreSQL does the work)"}


def main() -> dict[str, Any]:
    require("PostgreSQL", 5432)
    return asyncio.run(_run())


def summary(result: dict[str, Any]) -> str:
    calls, rows, sizes = result["calls"], result["rows"], result["sizes"]
    unrolled, goals, pg = result["unrolled"], result["goals"], result["postgres"]
    checks, latency = result["checks"], result["checks"]["latency_us"]
    return "\n".join([
        f"LRS reports over {rows['usage_logs']:,} usage logs ({rows['usage_logs_heavy_key']:,} "
        f"of the key asked about, the rest of {OTHER_KEYS:,} other keys, {DAYS} days); "
        f"PostgreSQL {pg['server_version']}, shared_buffers {pg['shared_buffers']}, work_mem "
        f"{pg['work_mem']}. Over HTTP through the service as app.py builds it; median and "
        f"slowest of {result['rounds']} alternating rounds after a warm-up round.",
        "",
        "| call | ours (median) | ours (slowest) | reference | reference (median) | ratio "
        "| goal | goal met |",
        "|---|---:|---:|---|---:|---:|---:|---|",
        _line("`/reports/summary` (92 rolled days + today live)", calls["summary"],
              "one aggregate SQL over `usage_logs`", calls["reference_summary"],
              f"< {goals['summary_ms']:g} ms", goals["summary_met"]),
        _line("`/reports/usage` first page (100 rows)", calls["usage_page"],
              "its SQL alone (part of ours)", calls["page_query"],
              f"< {goals['usage_page_ms']:g} ms", goals["usage_page_met"], ratio=False),
        _line("`/reports/summary?asset=BTC`", calls["summary_btc"]),
        _line("`/reports/usage?format=csv&limit=1000`", calls["usage_csv_1000"]),
        _line(f"`/reports/summary`, nothing rolled up ({_rounds(unrolled['ours'])})",
              unrolled["ours"], "the same aggregate SQL", unrolled["reference"]),
        "",
        f"Rollup, first run: {result['rollup']['days']} days in {result['rollup']['seconds']:g}"
        f" s. Rows written with COPY at {result['load']['rows_per_s']:,} rows/s "
        f"({result['load']['seconds']:g} s). `usage_daily`: {rows['usage_daily']:,} rows "
        f"({rows['usage_daily_heavy_key']:,} of the key). Sizes: {_size(sizes['usage_logs'])} "
        f"`usage_logs`, {_size(sizes['usage_daily'])} `usage_daily`.",
        "Summary latency (µs), ours (histogram estimate) / exact: "
        + ", ".join(f"{name} {latency['ours'][name]:g} / {latency['reference_exact'][name]:g}"
                    for name in ("p50", "p95", "p99", "max")) + ".",
        f"First page plan, this key: {_plan(checks['page_plan'])}; a key of "
        f"{checks['quiet_key_page_plan']['key_rows']:,} rows: "
        f"{_plan(checks['quiet_key_page_plan'])}. Each call makes two committed one-row "
        f"writes (allowance, log); the allowance write alone: "
        f"{calls['allowance_write']['median_ms']:.1f} ms median.",
    ])


def _line(call: str, ours: dict[str, Any], reference: str = "",
          theirs: dict[str, Any] | None = None, goal: str = "", met: bool | None = None, *,
          ratio: bool = True) -> str:
    """A table row; ``ratio`` (reference ÷ ours) only where the reference is another way of
    answering the same call, not a part of ours."""
    cells = [call, f"{ours['median_ms']:,.1f} ms", f"{ours['slowest_ms']:,.1f} ms", reference,
             "", "", goal, "" if met is None else ("yes" if met else "**no**")]
    if theirs is not None:
        cells[4] = f"{theirs['median_ms']:,.1f} ms"
        if ratio:
            cells[5] = f"{theirs['median_ms'] / ours['median_ms']:,.1f}×"
    return "| " + " | ".join(cells) + " |"


def _plan(outline: dict[str, Any]) -> str:
    return f"{' → '.join(outline['nodes'])} ({outline['execution_ms']:.2f} ms in PostgreSQL)"


def _rounds(figures: dict[str, Any]) -> str:
    count = len(figures["all_ms"])
    return f"{count} round{'' if count == 1 else 's'}"


def _size(size: dict[str, float]) -> str:
    return (f"{size['total_mb']:,.0f} MB (table {size['table_mb']:,.0f}, indexes "
            f"{size['indexes_mb']:,.0f})")


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2, default=str))
