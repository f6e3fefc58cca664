"""Latency histograms in fixed buckets: the same bucket in SQL (rollups) and in Python.

Bucket ``j`` holds response times ``BOUNDS[j-1] <= us < BOUNDS[j]`` (bucket 0: below 1 µs,
bucket 63: 3.33 s and more). The bounds are ``2**(i/3)`` rounded: below 16 µs a bucket is 1-3 µs
wide, from 16 µs on its upper bound is at most 28 % above its lower bound (26 % from 256 µs).
Percentiles read from the histogram are therefore estimates (docs/lrs.md): never outside the
buckets of the values at that rank, and exact when all values are equal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import msgspec
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from trinity_beast.db.schema import USAGE_LATENCY_BUCKETS


def _bounds(count: int) -> tuple[int, ...]:
    bounds: list[int] = []
    step = 0
    while len(bounds) < count:
        value = max(1, round(2 ** (step / 3)))
        if not bounds or value > bounds[-1]:
            bounds.append(value)
        step += 1
    return tuple(bounds)


BOUNDS = _bounds(USAGE_LATENCY_BUCKETS - 1)
"""Lower bounds (µs) of buckets 1 … 63: 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, …"""

def bucket_of(us: int) -> int:
    """The bucket of a response time in µs."""
    return bisect_right(BOUNDS, us)


def bucket_expr(us: ColumnElement[int]) -> ColumnElement[int]:
    """``bucket_of`` as a balanced SQL ``CASE`` tree (six comparisons a row, any dialect)."""
    return _tree(us, 0, USAGE_LATENCY_BUCKETS - 1)


def _tree(us: ColumnElement[int], low: int, high: int) -> ColumnElement[int]:
    if low == high:
        return sa.literal_column(str(low), sa.Integer())
    middle = (low + high + 1) // 2  # buckets low…middle-1 hold us < BOUNDS[middle-1]
    return sa.case(
        (us < sa.literal_column(str(BOUNDS[middle - 1]), sa.BigInteger()),
         _tree(us, low, middle - 1)),
        else_=_tree(us, middle, high),
    )


class Latency(msgspec.Struct, frozen=True):
    """Response times of a set of requests, in µs; all ``None`` when the set is empty."""

    avg: int | None
    p50: int | None
    p95: int | None
    p99: int | None
    max: int | None


EMPTY_LATENCY = Latency(None, None, None, None, None)


class Histogram:
    """Bucket counts plus the exact count, sum, minimum and maximum of the values."""

    def __init__(self, counts: Sequence[int], total_us: int, smallest: int, largest: int) -> None:
        if len(counts) != USAGE_LATENCY_BUCKETS:
            raise ValueError(f"expected {USAGE_LATENCY_BUCKETS} bucket counts, got {len(counts)}")
        self.counts = tuple(counts)
        self.count = sum(self.counts)
        self.total_us = total_us
        self.smallest = smallest
        self.largest = largest

    def latency(self) -> Latency:
        if self.count == 0:
            return EMPTY_LATENCY
        return Latency(
            avg=round(self.total_us / self.count), p50=self.percentile(0.50),
            p95=self.percentile(0.95), p99=self.percentile(0.99), max=self.largest,
        )

    def percentile(self, fraction: float) -> int:
        """The value at rank ``fraction * (count - 1)`` (as ``percentile_cont``), estimated."""
        rank = fraction * (self.count - 1)
        below = int(rank)
        if below == rank or below + 1 >= self.count:
            return round(self._at(below))
        low, high = self._at(below), self._at(below + 1)
        return round(low + (rank - below) * (high - low))

    def _at(self, rank: int) -> float:
        """Estimated value of the ``rank``-th smallest (0-based): ranks spread evenly over the
        bucket's range, clipped to the smallest and largest value seen."""
        seen = 0
        for bucket, in_bucket in enumerate(self.counts):
            if rank < seen + in_bucket:
                low, high = self._range(bucket)
                if in_bucket == 1:
                    return (low + high) / 2
                return low + (high - low) * (rank - seen) / (in_bucket - 1)
            seen += in_bucket
        return float(self.largest)

    def _range(self, bucket: int) -> tuple[float, float]:
        low = 0 if bucket == 0 else BOUNDS[bucket - 1]
        high = BOUNDS[bucket] - 1 if bucket < len(BOUNDS) else self.largest
        return float(max(low, self.smallest)), float(min(high, self.largest))
