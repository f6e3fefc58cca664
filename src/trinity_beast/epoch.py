"""Epoch seconds split the way ``datetime`` splits them, for formatters that cache by second."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def epoch_parts(ts: float) -> tuple[int, int]:
    """Epoch seconds as ``(whole second, microseconds)``, rounded as ``datetime.fromtimestamp``
    rounds them (to the microsecond, half to even, carrying into the next second)."""
    fraction, whole = math.modf(ts)
    second, micros = int(whole), round(fraction * 1e6)
    if micros >= 1_000_000:
        return second + 1, micros - 1_000_000
    if micros < 0:
        return second - 1, micros + 1_000_000
    return second, micros


class SecondTexts:
    """``strftime(fmt)`` of an epoch time's whole second, formatted once per second.

    Answers and usage rows format the same few seconds over and over, and ``strftime`` costs
    several times the rest of such a formatter; the cache is bounded.
    """

    def __init__(self, fmt: str, limit: int = 4096) -> None:
        self._fmt = fmt
        self._limit = limit
        self._texts: dict[int, str] = {}

    def split(self, ts: float) -> tuple[str, int]:
        """``(the whole second's text, microseconds)`` of ``ts``, rounded as ``datetime``."""
        second, micros = epoch_parts(ts)
        text = self._texts.get(second)
        if text is None:
            if len(self._texts) >= self._limit:
                self._texts.clear()
            text = self._texts[second] = datetime.fromtimestamp(second, UTC).strftime(self._fmt)
        return text, micros
