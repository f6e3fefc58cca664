"""The cross-exchange aggregate: the median of fresh quotes, with a deviation filter."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import msgspec

from trinity_beast.prices.quote import Quote


class Aggregate(msgspec.Struct, frozen=True):
    asset: str
    median: float
    providers: tuple[str, ...]
    """Sources whose quotes made the median."""
    excluded: tuple[str, ...]
    """Fresh sources left out because they deviated too far from the first median."""


class NotEnoughProviders(ValueError):
    def __init__(self, asset: str, have: int, need: int) -> None:
        super().__init__(f"{asset}: {have} fresh provider(s), the aggregate needs {need}")
        self.have = have
        self.need = need


def median_aggregate(
    asset: str, quotes: Sequence[Quote], *, min_providers: int, max_deviation_pct: float
) -> Aggregate:
    """Median of ``quotes`` after dropping those more than ``max_deviation_pct`` from the median.

    Raises :class:`NotEnoughProviders` when fewer than ``min_providers`` quotes remain.
    """
    if len(quotes) < min_providers or not quotes:
        raise NotEnoughProviders(asset, len(quotes), min_providers)
    first = statistics.median(q.value for q in quotes)
    limit = first * max_deviation_pct / 100.0
    kept = [q for q in quotes if abs(q.value - first) <= limit]
    if len(kept) < min_providers or not kept:
        raise NotEnoughProviders(asset, len(kept), min_providers)
    kept_sources = {q.source for q in kept}
    return Aggregate(
        asset=asset,
        median=statistics.median(q.value for q in kept),
        providers=tuple(sorted(kept_sources)),
        excluded=tuple(sorted(q.source for q in quotes if q.source not in kept_sources)),
    )
