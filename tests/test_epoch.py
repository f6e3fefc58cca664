"""Epoch seconds split as ``datetime`` splits them, and the per-second text cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trinity_beast.epoch import SecondTexts, epoch_parts


@pytest.mark.parametrize(("ts", "parts"), [
    (0.0, (0, 0)),
    (1.25, (1, 250000)),
    (1.9999996, (2, 0)),  # the microsecond rounding carries into the next second
    (-0.0000004, (0, 0)),
    (-0.5, (-1, 500000)),
])
def test_epoch_parts(ts: float, parts: tuple[int, int]) -> None:
    assert epoch_parts(ts) == parts
    since_epoch = datetime.fromtimestamp(ts, UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    assert since_epoch == timedelta(seconds=parts[0], microseconds=parts[1])


def test_second_texts_stay_right_past_the_cache_limit() -> None:
    texts = SecondTexts("%H:%M:%S", limit=2)
    assert texts.split(1.5) == ("00:00:01", 500000)
    assert texts.split(2.0) == ("00:00:02", 0)
    assert texts.split(3.25) == ("00:00:03", 250000)  # the cache was full: cleared, refilled
    assert texts.split(1.75) == ("00:00:01", 750000)
