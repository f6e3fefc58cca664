"""The monthly quota of one API key: ``query_limit`` against ``current_usage`` (API.md §4).

The database's ``current_usage`` arrives with each fresher key record (the key cache refreshes
them off the hot path); requests admitted here since then are counted locally on top. Months are
calendar months in UTC; a refused request is told to retry at the start of the next one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from trinity_beast.keys.model import KeyRecord


def month_bounds(now: float) -> tuple[float, float]:
    """Epoch seconds of the first instant of the UTC month holding ``now``, and of the next."""
    moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return start.timestamp(), datetime(year, month, 1, tzinfo=UTC).timestamp()


class QuotaCounter:
    """This worker's estimate of a key's usage in the current month.

    ``used`` = the freshest ``current_usage`` seen + requests admitted here since. When a
    fresher record arrives (:meth:`observe`):

    * written before this month began → its usage belongs to a past month: ``used`` stays as
      counted this month;
    * its ``current_usage`` went *down* → the database was reset (monthly reset, support
      action): start again from it;
    * otherwise → ``max(current_usage, used)``: our own admissions are counted once whether the
      usage writer has stored them yet or not; other workers' admissions arrive through the
      database.

    A record older (``updated_at``) than one already taken in is ignored.
    """

    __slots__ = ("db_usage", "limit", "month_end", "month_start", "seen", "used")

    def __init__(self, record: KeyRecord, limit: int, now: float) -> None:
        self.limit = limit
        self.month_start, self.month_end = month_bounds(now)
        self.db_usage = 0
        self.used = 0
        self.seen = -math.inf
        """``updated_at`` of the freshest record taken in (an older one is ignored)."""
        self.observe(record)

    def observe(self, record: KeyRecord) -> None:
        """Take in a (possibly) fresher record of the same key."""
        written = record.updated_at.timestamp()
        if written < self.seen:
            return
        self.seen = written
        if record.query_limit is not None:
            self.limit = record.query_limit
        if written < self.month_start:
            return
        usage = record.current_usage
        self.used = usage if usage < self.db_usage else max(usage, self.used)
        self.db_usage = usage

    def refused_for(self, now: float) -> float | None:
        """Seconds until the next month when the quota is spent; ``None`` while it is not."""
        if now >= self.month_end or now < self.month_start:
            self._roll(now)
        if self.used >= self.limit:
            return self.month_end - now
        return None

    def count(self) -> None:
        """One more admitted request."""
        self.used += 1

    def _roll(self, now: float) -> None:
        self.month_start, self.month_end = month_bounds(now)
        self.used = 0
        self.db_usage = 0
