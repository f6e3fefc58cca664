"""What the usage pipeline did with the records of this process (later exported as metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class UsageCounters:
    """Monotonic counts of records, shared by every part of one pipeline.

    Every record handed to ``submit`` ends up in exactly one of: ``dropped`` (buffer full, or
    spool full while its destination was down), ``written`` or ``duplicates`` (the database
    had it already), ``rejected`` (the database refused the row itself; kept in the spool's
    ``rejected/`` folder), or still on its way (buffer, stream, spool). ``spooled`` and
    ``replayed`` count records that went through the spool (a record replayed is also counted
    as ``written`` or ``duplicates``). ``trimmed`` counts stream *entries* (up to
    ``sqs_batch_size`` records each) that Valkey trimmed away before a writer wrote them.
    """

    submitted: int = 0
    written: int = 0
    duplicates: int = 0
    spooled: int = 0
    replayed: int = 0
    dropped: int = 0
    rejected: int = 0
    trimmed: int = 0


class LogThrottle:
    """Lets one message through per ``interval`` seconds and counts the ones it held back."""

    def __init__(self, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self.suppressed = 0

    def ready(self) -> bool:
        """True when a message may be logged now; :meth:`take_suppressed` then says how many
        were held back since the last one."""
        now = self._clock()
        if now < self._next:
            self.suppressed += 1
            return False
        self._next = now + self.interval
        return True

    def take_suppressed(self) -> int:
        held, self.suppressed = self.suppressed, 0
        return held
