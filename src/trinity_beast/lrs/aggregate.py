"""Summaries in SQL: log rows grouped per UTC day and attributes, each group with its request
count, latency sum/min/max and a latency histogram (the shape of ``usage_daily``), and the
breakdowns and totals read back from any union of such groups.

Only a few hundred small rows ever leave the database: one row of totals, at most 64 histogram
buckets, and the breakdowns (one row per day, asset, …).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, Select

from trinity_beast.db.schema import USAGE_LATENCY_BUCKETS
from trinity_beast.lrs.filters import StatusFilter
from trinity_beast.lrs.latency import Histogram, bucket_expr
from trinity_beast.lrs.results import Group

ERROR_STATUS = 400
"""A request answered with this status or above counts as an error."""


def utc_day(created_at: ColumnElement[Any], dialect: str) -> ColumnElement[date]:
    """The UTC calendar day of a timestamp (PostgreSQL ignores the session time zone here)."""
    if dialect == "postgresql":
        utc = sa.func.timezone(sa.literal_column("'UTC'"), created_at)
        return sa.cast(utc, sa.Date())
    return sa.func.date(created_at, type_=sa.Date())  # SQLite keeps UTC text


def day_text(day: ColumnElement[date], dialect: str) -> ColumnElement[str]:
    """``YYYY-MM-DD`` whatever the PostgreSQL ``DateStyle``."""
    if dialect == "postgresql":
        return sa.func.to_char(day, sa.literal_column("'YYYY-MM-DD'"), type_=sa.Text())
    return sa.type_coerce(day, sa.Text())


def status_condition(column: ColumnElement[int], status: StatusFilter) -> ColumnElement[bool]:
    if status == "ok":
        return column < ERROR_STATUS
    if status == "error":
        return column >= ERROR_STATUS
    return column == status


def _number(text: int) -> ColumnElement[int]:
    return sa.literal_column(str(text), sa.Integer())


def histogram_groups(table: sa.Table, dialect: str, dims: Mapping[str, ColumnElement[Any]],
                     where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """Rows of ``table`` matching ``where`` grouped by day and ``dims``; columns: ``day``, the
    dims, ``requests``, ``sum_us``, ``min_us``, ``max_us``, ``latency_histogram``.

    Each row is bucketed once (innermost select), counted per bucket, then the non-empty
    buckets of a group become one JSON object ``{"bucket": requests}``.
    """
    latency = table.c.response_time_us
    rows = (
        sa.select(utc_day(table.c.created_at, dialect).label("day"),
                  *(expr.label(name) for name, expr in dims.items()),
                  latency.label("us"), bucket_expr(latency).label("bucket"))
        .where(*where)
        .subquery("r")
    )
    keys = [rows.c.day, *(rows.c[name] for name in dims)]
    buckets = (
        sa.select(*keys, rows.c.bucket, sa.func.count().label("n"),
                  sa.func.sum(rows.c.us).label("s"), sa.func.min(rows.c.us).label("lo"),
                  sa.func.max(rows.c.us).label("hi"))
        .group_by(*keys, rows.c.bucket)
        .subquery("b")
    )
    group = [buckets.c.day, *(buckets.c[name] for name in dims)]
    return (
        sa.select(*group, sa.func.sum(buckets.c.n).label("requests"),
                  sa.func.sum(buckets.c.s).label("sum_us"),
                  sa.func.min(buckets.c.lo).label("min_us"),
                  sa.func.max(buckets.c.hi).label("max_us"),
                  _json_object(buckets.c.bucket, buckets.c.n, dialect).label("latency_histogram"))
        .group_by(*group)
    )


def _json_object(key: ColumnElement[Any], value: ColumnElement[Any],
                 dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return sa.cast(sa.func.json_object_agg(key, value), sa.Text())
    return sa.func.json_group_object(key, value, type_=sa.Text())


def _histogram_entries(source: CTE, dialect: str) -> Select[int, int]:
    """``(bucket, requests)`` summed over the JSON histograms of ``source``."""
    histogram = source.c.latency_histogram
    if dialect == "postgresql":
        entries = sa.func.json_each_text(sa.cast(histogram, postgresql.JSON())).table_valued(
            "key", "value").lateral("e")
    else:
        entries = sa.func.json_each(histogram).table_valued("key", "value").alias("e")
    bucket = sa.cast(entries.c.key, sa.Integer())
    return (sa.select(bucket, sa.func.sum(sa.cast(entries.c.value, sa.BigInteger())))
            .select_from(source).join(entries, sa.true()).group_by(bucket))


@dataclass(frozen=True, slots=True)
class Aggregate:
    count: int
    errors: int
    histogram: Histogram
    breakdowns: dict[str, list[Group]]


async def read_aggregate(conn: AsyncConnection, parts: Sequence[Select[Any]],
                         dims: Sequence[str], nullable: frozenset[str] = frozenset()
                         ) -> Aggregate:
    """Totals, latency and per-``dims`` breakdowns (plus ``day``) over the union of ``parts``.

    Every part has the columns of :func:`histogram_groups` in the same order. In ``nullable``
    dims an empty key stands for NULL. ``by day`` is in date order; the others list the most
    used first.
    """
    dialect = conn.dialect.name
    source = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).cte("src")
    errors = sa.func.sum(sa.case((source.c.status >= ERROR_STATUS, source.c.requests),
                                 else_=_number(0)))
    totals = (await conn.execute(sa.select(
        sa.func.sum(source.c.requests), errors, sa.func.sum(source.c.sum_us),
        sa.func.min(source.c.min_us), sa.func.max(source.c.max_us)))).one()
    counts = [0] * USAGE_LATENCY_BUCKETS
    for bucket, in_bucket in await conn.execute(_histogram_entries(source, dialect)):
        counts[int(bucket)] = int(in_bucket)
    histogram = Histogram(counts, int(totals[2] or 0), int(totals[3] or 0), int(totals[4] or 0))
    breakdowns: dict[str, list[Group]] = {name: [] for name in ("day", *dims)}
    for name, key, in_group, failed in await conn.execute(
            _breakdowns(source, dialect, dims, errors)):
        shown = None if (key == "" and name in nullable) else key
        breakdowns[name].append(Group(shown, int(in_group), int(failed)))
    for name, entries in breakdowns.items():
        if name != "day":
            entries.sort(key=lambda g: (-g.count, g.key is None, g.key or ""))
        else:
            entries.sort(key=lambda g: g.key or "")
    return Aggregate(int(totals[0] or 0), int(totals[1] or 0), histogram, breakdowns)


def _breakdowns(source: CTE, dialect: str, dims: Sequence[str],
                errors: ColumnElement[Any]) -> sa.CompoundSelect[Any]:
    """One ``(dimension, key, count, errors)`` row per day and per value of each dim."""
    selects = []
    for name in ("day", *dims):
        column = source.c[name]
        if name == "day":
            shown = day_text(column, dialect)
        elif name == "status":
            shown = sa.cast(column, sa.Text())
        else:
            shown = sa.type_coerce(column, sa.Text())
        selects.append(
            sa.select(sa.literal_column(f"'{name}'", sa.Text()).label("dimension"),
                      shown.label("key"), sa.func.sum(source.c.requests).label("n"),
                      errors.label("e"))
            .group_by(column))
    return sa.union_all(*selects)
