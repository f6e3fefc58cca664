"""The server's cached clock: loop time for deadlines and the ``Date`` header line.

Both are refreshed by the server's periodic tick, so a request reads two attributes instead
of calling the clock and formatting a date.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate


def date_line(epoch_second: int) -> bytes:
    """``b"Date: Sun, 06 Nov 1994 08:49:37 GMT\\r\\n"`` for a Unix time."""
    return b"Date: " + formatdate(epoch_second, usegmt=True).encode("ascii") + b"\r\n"


class Clock:
    """``now`` (event-loop time) and ``date_line``, as of the last :meth:`refresh`."""

    __slots__ = ("_loop_time", "_second", "date_line", "now")

    def __init__(self, loop_time: Callable[[], float] = time.monotonic) -> None:
        self._loop_time = loop_time
        self._second = -1
        self.now = 0.0
        self.date_line = b""
        self.refresh()

    def use(self, loop_time: Callable[[], float]) -> None:
        """Read time from ``loop_time`` (the running loop's ``time``) from now on."""
        self._loop_time = loop_time
        self.refresh()

    def refresh(self) -> None:
        self.now = self._loop_time()
        second = int(time.time())
        if second != self._second:
            self._second = second
            self.date_line = date_line(second)
