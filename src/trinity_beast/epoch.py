"""Epoch seconds split the way ``datetime`` splits them, for formatters that cache by second."""

from __future__ import annotations

import math


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
