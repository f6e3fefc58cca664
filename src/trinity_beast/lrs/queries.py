"""The report queries (SQLAlchemy Core), every one limited to the caller's own ``key_id``.

Pages use keyset pagination over ``(created_at, id)``, newest first, on the index
``(api_key_id, created_at, id)``: the page after a cursor holds the rows strictly older than the
cursor's row, so rows inserted meanwhile (new requests, or late ones from the queue) never shift
a page — no row is shown twice and none is skipped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from trinity_beast.db.schema import (
    UtcDateTime,
    api_keys,
    report_usage_logs,
    usage_daily,
    usage_logs,
)
from trinity_beast.lrs.aggregate import (
    Aggregate,
    histogram_groups,
    read_aggregate,
    status_condition,
)
from trinity_beast.lrs.filters import Cursor, ReportQuery
from trinity_beast.lrs.results import Page, ReportRow, Row, UsageRow
from trinity_beast.lrs.rollup import rolled_through, usage_dims

USAGE_DIMS = ("asset", "source", "cache_tier", "status")
REPORT_DIMS = ("report_type", "format", "protocol", "status")
_NULLABLE = frozenset({"asset", "source", "cache_tier"})
_DAY = timedelta(days=1)


def timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, the precision rows are stored with."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _conditions(table: sa.Table, key_id: str, query: ReportQuery) -> list[ColumnElement[bool]]:
    where = [table.c.api_key_id == key_id, table.c.created_at >= query.start,
             table.c.created_at < query.end]
    if query.status is not None:
        where.append(status_condition(table.c.status, query.status))
    if query.asset is not None:
        where.append(table.c.asset == query.asset)
    if query.report_type is not None:
        where.append(table.c.report_type == query.report_type)
    return where


async def usage_page(conn: AsyncConnection, key_id: str, query: ReportQuery,
                     limit: int) -> Page:
    return await _page(conn, usage_logs, UsageRow, key_id, query, limit)


async def report_page(conn: AsyncConnection, key_id: str, query: ReportQuery,
                      limit: int) -> Page:
    return await _page(conn, report_usage_logs, ReportRow, key_id, query, limit)


async def _page(conn: AsyncConnection, table: sa.Table, row_type: type[Row], key_id: str,
                query: ReportQuery, limit: int) -> Page:
    names = list(row_type.__struct_fields__)
    where = _conditions(table, key_id, query)
    if query.cursor is not None:
        where.append(_before(table, query.cursor))
    select = (sa.select(*(table.c[name] for name in names)).where(*where)
              .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1))
    fetched = (await conn.execute(select)).all()
    rows: list[Row] = []
    positions: list[Cursor] = []
    for record in fetched[:limit]:
        values = dict(zip(names, record, strict=True))
        positions.append(Cursor(values["created_at"], values["id"]))
        values["created_at"] = timestamp(values["created_at"])
        rows.append(row_type(**values))
    return Page(row_type, rows, positions, len(fetched) > limit)


def _before(table: sa.Table, cursor: Cursor) -> ColumnElement[bool]:
    """Rows older than the cursor. The plain ``created_at <=`` repeats part of the row
    comparison because PostgreSQL estimates it far better: without it the planner may pick the
    ``created_at`` index and filter by key instead of using ``(api_key_id, created_at, id)``."""
    moment = sa.literal(cursor.created_at, UtcDateTime())
    return sa.and_(table.c.created_at <= moment,
                   sa.tuple_(table.c.created_at, table.c.id)
                   < sa.tuple_(moment, sa.literal(cursor.id, sa.Text())))


async def usage_aggregate(conn: AsyncConnection, key_id: str, query: ReportQuery) -> Aggregate:
    """The caller's usage over the query's range: ``usage_daily`` for the whole days up to
    ``rolled_through``, ``usage_logs`` for the rest (at most two intervals)."""
    dialect = conn.dialect.name
    parts: list[Select[Any]] = []
    live = [(query.start, query.end)]
    rolled = _rolled_days(query.start, query.end, await rolled_through(conn))
    if rolled is not None:
        first, stop = rolled
        parts.append(_rollup_part(key_id, query, first.date(), stop.date()))
        live = [(query.start, first), (stop, query.end)]
    for begins, ends in live:
        if begins < ends or not parts:
            ranged = replace(query, start=begins, end=ends)
            parts.append(histogram_groups(usage_logs, dialect, usage_dims(),
                                          _conditions(usage_logs, key_id, ranged)))
    return await read_aggregate(conn, parts, USAGE_DIMS, _NULLABLE)


def _rolled_days(start: datetime, end: datetime,
                 through: date | None) -> tuple[datetime, datetime] | None:
    """``[first, stop)``: the whole days of ``[start, end)`` the rollup holds, if any."""
    if through is None:
        return None
    first = datetime.combine(start.date(), datetime.min.time(), UTC)
    if first < start:
        first += _DAY
    stop = min(datetime.combine(end.date(), datetime.min.time(), UTC),
               datetime.combine(through + _DAY, datetime.min.time(), UTC))
    return (first, stop) if first < stop else None


def _rollup_part(key_id: str, query: ReportQuery, first: date, stop: date) -> Select[Any]:
    t = usage_daily.c
    where = [t.api_key_id == key_id, t.day >= first, t.day < stop]
    if query.status is not None:
        where.append(status_condition(t.status, query.status))
    if query.asset is not None:
        where.append(t.asset == query.asset)
    columns = ["day", *USAGE_DIMS, "requests", "sum_us", "min_us", "max_us", "latency_histogram"]
    return sa.select(*(t[name] for name in columns)).where(*where)


async def report_aggregate(conn: AsyncConnection, key_id: str,
                           query: ReportQuery) -> Aggregate:
    """The caller's report calls over the query's range (no rollup: they are few)."""
    t = report_usage_logs.c
    dims = {"report_type": t.report_type, "format": t.format, "protocol": t.protocol,
            "status": t.status}
    part = histogram_groups(report_usage_logs, conn.dialect.name, dims,
                            _conditions(report_usage_logs, key_id, query))
    return await read_aggregate(conn, [part], REPORT_DIMS)


async def query_quota(conn: AsyncConnection, key_id: str) -> tuple[int | None, int] | None:
    """``(query_limit, current_usage)`` of the key as the database has them now."""
    select = sa.select(api_keys.c.query_limit, api_keys.c.current_usage).where(
        api_keys.c.key_id == key_id)
    row = (await conn.execute(select)).one_or_none()
    return None if row is None else (row[0], int(row[1]))
