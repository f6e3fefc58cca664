"""Latency buckets (the same in SQL and Python) and percentiles read from a histogram."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lrs.conftest import START, insert_rows, usage_row
from trinity_beast.db.schema import usage_logs
from trinity_beast.lrs.latency import (
    BOUNDS,
    EMPTY_LATENCY,
    Histogram,
    Latency,
    bucket_expr,
    bucket_of,
)

EDGES = sorted({0, *BOUNDS, *(b - 1 for b in BOUNDS), *(b + 1 for b in BOUNDS), 10**9})


def histogram(values: list[int]) -> Histogram:
    counts = [0] * 64
    for value in values:
        counts[bucket_of(value)] += 1
    return Histogram(counts, sum(values), min(values), max(values))


def test_bounds_grow_by_a_third_of_an_octave() -> None:
    assert BOUNDS[:16] == (1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 51, 64)
    assert len(BOUNDS) == 63
    assert BOUNDS[-1] == 3_329_021
    ratios = [b / a for a, b in itertools.pairwise(BOUNDS)]
    assert max(ratios[9:]) == 1.28  # 25 → 32
    assert max(ratios[24:]) < 1.262


def test_bucket_of_edges() -> None:
    assert [bucket_of(v) for v in (0, 1, 2, 7, 8, 9, 3_329_020, 3_329_021, 10**9)] == [
        0, 1, 2, 6, 7, 7, 62, 63, 63]


async def test_sql_buckets_equal_python_buckets(engine: AsyncEngine) -> None:
    rows = [usage_row("ak_live_x", START, row_id=f"r{v}", response_time_us=v) for v in EDGES]
    await insert_rows(engine, rows)
    latency = usage_logs.c.response_time_us
    async with engine.connect() as conn:
        found = (await conn.execute(sa.select(latency, bucket_expr(latency)))).all()
    assert {int(us): int(bucket) for us, bucket in found} == {v: bucket_of(v) for v in EDGES}


def test_equal_values_give_exact_percentiles() -> None:
    assert histogram([42] * 10).latency() == Latency(avg=42, p50=42, p95=42, p99=42, max=42)


def exact(values: list[int], fraction: float) -> float:
    """``percentile_cont``: linear between the two values around rank fraction * (n - 1)."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    below = int(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (rank - below) * (ordered[above] - ordered[below])


def test_an_even_spread_is_estimated_closely() -> None:
    values = list(range(1, 1001))  # exact: p50 500.5, p95 950.05, p99 990.01
    assert histogram(values).latency() == Latency(avg=500, p50=500, p95=950, p99=990, max=1000)


def test_two_clusters_are_estimated_within_their_bucket() -> None:
    values = [10] * 90 + [50_000] * 10
    latency = histogram(values).latency()
    assert latency == Latency(avg=5009, p50=11, p95=45207, p99=49041, max=50_000)
    for estimate, fraction in ((latency.p50, 0.5), (latency.p95, 0.95), (latency.p99, 0.99)):
        assert estimate is not None
        assert bucket_of(estimate) == bucket_of(round(exact(values, fraction)))


def test_a_single_value() -> None:
    assert histogram([7]).latency() == Latency(avg=7, p50=7, p95=7, p99=7, max=7)


def test_an_empty_histogram_has_no_latency() -> None:
    assert Histogram([0] * 64, 0, 0, 0).latency() == EMPTY_LATENCY


def test_the_histogram_needs_64_counts() -> None:
    with pytest.raises(ValueError, match="64 bucket counts"):
        Histogram([0] * 63, 0, 0, 0)
