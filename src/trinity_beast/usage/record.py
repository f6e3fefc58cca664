"""The usage record (one per answered LPO request) and the sink every front-end hands it to."""

from __future__ import annotations

from typing import Protocol

import msgspec


class UsageRecord(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One row of ``usage_logs``. ``id`` is unique per request and de-duplicates retries."""

    id: str
    api_key_id: str
    asset: str | None
    assets_count: int
    source: str | None
    cache_tier: str | None
    response_time_us: int
    status: int
    endpoint: str
    protocol: str
    node: str
    created_at: float
    """Epoch seconds (UTC)."""


COLUMNS = tuple(UsageRecord.__struct_fields__)
"""The ``usage_logs`` columns, in record order."""


class UsageSink(Protocol):
    def submit(self, record: UsageRecord) -> None:
        """Hand a record off; never blocks, never raises (a drop is counted, not thrown)."""


class DiscardingSink:
    """A sink that keeps nothing, for roles and tests that log no usage."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, record: UsageRecord) -> None:
        self.submitted += 1
