"""The usage record (one per answered LPO request) and the sink every front-end hands it to."""

from __future__ import annotations

import itertools
import os
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


def _new_tag() -> str:
    return os.urandom(8).hex()


_tag = _new_tag()
_sequence = itertools.count()


def _new_tag_after_fork() -> None:
    global _tag
    _tag = _new_tag()


os.register_at_fork(after_in_child=_new_tag_after_fork)


def new_record_id() -> str:
    """32 hex characters: this process's random tag (16), then its sequence number (16).

    One process's ids ascend, so its rows enter the primary-key index at one place instead of
    at random pages: random ids made SQLite's usage inserts three times slower (42 against
    14 us a row at 200,000 rows), and cost PostgreSQL's B-tree the same way. Unique without
    coordination: the tag is 64 random bits per process (drawn again after a fork) and the
    sequence never repeats within it. Cheaper than ``os.urandom`` too (no system call).
    """
    return f"{_tag}{next(_sequence):016x}"


class UsageSink(Protocol):
    def submit(self, record: UsageRecord) -> None:
        """Hand a record off; never blocks, never raises (a drop is counted, not thrown)."""


class DiscardingSink:
    """A sink that keeps nothing, for roles and tests that log no usage."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, record: UsageRecord) -> None:
        self.submitted += 1
