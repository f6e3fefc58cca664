"""``GET /price?asset=X&agg=median``: the cross-exchange median with the providers used."""

from __future__ import annotations

import msgspec


class AggregateBody(msgspec.Struct, frozen=True):
    status: str
    status_code: int
    endpoint: str
    asset: str
    price: float
    aggregate: str
    providers: list[str]
    excluded: list[str]
    cached: bool
    latency_ms: int
    duration_ms: int
