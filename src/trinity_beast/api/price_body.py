"""The JSON bodies of a price answer (API.md §5.1 fields plus the §5.3 envelope), as wire
structs; :mod:`~.price_view` fills them (and is compiled, docs/compiled.md)."""

from __future__ import annotations

import msgspec


class PriceBody(msgspec.Struct, frozen=True, gc=False):
    status: str
    status_code: int
    endpoint: str
    asset: str
    price: msgspec.Raw
    """A JSON number with exactly the exchange's digits."""
    timestamp: str
    """When we received the price (RFC 3339); ``cache_age_seconds`` counts from here."""
    exchange_timestamp: str
    """When the exchange says the trade happened."""
    source: str
    cached: bool
    cache_age_seconds: float
    cache_tier: str
    latency_ms: int
    duration_ms: int


class PriceItem(msgspec.Struct, frozen=True, gc=False):
    """One asset inside a batch answer (no envelope of its own)."""

    asset: str
    price: msgspec.Raw
    timestamp: str
    exchange_timestamp: str
    source: str
    cached: bool
    cache_age_seconds: float
    cache_tier: str
