"""The bounded buffer: what it keeps, what it drops and counts, and when it wakes the flusher."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.usage.helpers import records
from trinity_beast.params.values import Parameters
from trinity_beast.usage.counters import LogThrottle, UsageCounters
from trinity_beast.usage.queue import UsageBuffer, run_flusher
from trinity_beast.usage.record import UsageRecord


def _buffer(capacity: int = 100) -> tuple[UsageBuffer, UsageCounters]:
    counters = UsageCounters()
    return UsageBuffer(Parameters({"sqs_buffer_size": str(capacity)}), counters), counters


def test_keeps_records_in_order_up_to_capacity() -> None:
    buffer, counters = _buffer()
    batch = records(["ak_a"], 100)
    for record in batch:
        buffer.submit(record)
    assert len(buffer) == 100
    assert buffer.take(30) == batch[:30]
    assert buffer.take(1000) == batch[30:]
    assert buffer.take(10) == []
    assert (counters.submitted, counters.dropped) == (100, 0)


def test_a_full_buffer_drops_and_counts_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    buffer, counters = _buffer(100)
    batch = records(["ak_a"], 250)
    with caplog.at_level(logging.WARNING, logger="trinity_beast.usage.queue"):
        for record in batch:
            buffer.submit(record)
    assert (counters.submitted, counters.dropped, len(buffer)) == (250, 150, 100)
    assert buffer.take(200) == batch[:100]  # the oldest are kept, the newest dropped
    assert [r.getMessage() for r in caplog.records] == [
        "usage buffer full: record dropped (0 more since the last warning)"]


def test_full_says_when_the_next_record_would_be_dropped() -> None:
    buffer, counters = _buffer(100)
    batch = records(["ak_a"], 101)
    for record in batch[:99]:
        buffer.submit(record)
    assert not buffer.full()
    buffer.submit(batch[99])
    assert buffer.full()
    buffer.take(1)
    assert not buffer.full()
    assert counters.dropped == 0


def test_room_again_after_take() -> None:
    buffer, counters = _buffer(100)
    for record in records(["ak_a"], 101):
        buffer.submit(record)
    buffer.take(1)
    buffer.submit(records(["ak_a"], 1)[0])
    assert (len(buffer), counters.dropped) == (100, 1)


def test_capacity_follows_the_parameter_live() -> None:
    params = Parameters({"sqs_buffer_size": "100"})
    buffer = UsageBuffer(params, UsageCounters())
    for record in records(["ak_a"], 100):
        buffer.submit(record)
    params.apply({"sqs_buffer_size": "200"})
    buffer.submit(records(["ak_a"], 1)[0])
    assert len(buffer) == 101


def test_log_throttle_lets_one_message_per_interval() -> None:
    now = [100.0]
    throttle = LogThrottle(10.0, clock=lambda: now[0])
    assert throttle.ready()
    assert not throttle.ready()
    assert not throttle.ready()
    now[0] = 110.0
    assert throttle.ready()
    assert throttle.take_suppressed() == 2
    assert throttle.take_suppressed() == 0


async def test_wait_returns_once_a_batch_is_buffered() -> None:
    buffer, _ = _buffer()
    waiting = asyncio.ensure_future(buffer.wait(3, 60.0))
    for record in records(["ak_a"], 2):
        buffer.submit(record)
        await asyncio.sleep(0)
    assert not waiting.done()
    buffer.submit(records(["ak_a"], 1)[0])
    await asyncio.wait_for(waiting, 10.0)


async def test_wake_ends_a_wait() -> None:
    buffer, _ = _buffer()
    waiting = asyncio.ensure_future(buffer.wait(3, 60.0))
    await asyncio.sleep(0)
    buffer.wake()
    await asyncio.wait_for(waiting, 10.0)
    assert len(buffer) == 0


class _SlowHandoff:
    """Takes 20 ms per hand-off and remembers the size of each."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def batch_size(self) -> int:
        return 50

    def flush_seconds(self) -> float:
        return 0.2

    async def deliver(self, records: list[UsageRecord]) -> None:
        self.sizes.append(len(records))
        await asyncio.sleep(0.02)


async def test_records_that_arrive_during_a_hand_off_wait_for_a_whole_batch() -> None:
    buffer, _ = _buffer(10_000)
    handoff, closing = _SlowHandoff(), asyncio.Event()
    flusher = asyncio.create_task(run_flusher(buffer, handoff, closing))
    for record in records(["ak_a"], 600):  # about 1,000 a second, steadily
        buffer.submit(record)
        await asyncio.sleep(0.001)
    closing.set()
    buffer.wake()
    await flusher
    assert sum(handoff.sizes) == 600
    # Whole batches, but for the last (the drain) and what the flush interval let go.
    assert sum(1 for size in handoff.sizes if size < 50) <= 2, handoff.sizes
