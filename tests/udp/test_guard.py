"""The reply guard's token buckets and the governor's work slots, with a fake clock."""

from __future__ import annotations

import pytest

from tests.prices.helpers import FakeClock
from trinity_beast.params.values import Parameters
from trinity_beast.udp.governor import WorkGovernor
from trinity_beast.udp.guard import ReplyGuard, TokenBucket
from trinity_beast.udp.limits import UdpLimits


def allowed(guard: ReplyGuard, host: str, attempts: int) -> int:
    return sum(guard.allow(host) for _ in range(attempts))


def test_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, now=0.0)
    assert bucket.refill(0.0) == 3.0
    bucket.tokens = 0.0
    assert bucket.refill(0.5) == 1.0
    assert bucket.refill(0.25) == 1.0  # time going backwards adds nothing
    assert bucket.refill(100.0) == 3.0


def test_per_source_burst_then_rate() -> None:
    clock = FakeClock(0.0)
    guard = ReplyGuard(rate=2.0, burst=3.0, global_rate=1000.0, global_burst=1000.0,
                       clock=clock)
    assert allowed(guard, "10.0.0.1", 50) == 3
    assert allowed(guard, "10.0.0.2", 50) == 3  # another source has its own bucket
    clock.now = 1.0
    assert allowed(guard, "10.0.0.1", 50) == 2
    clock.now = 11.0
    assert allowed(guard, "10.0.0.1", 50) == 3


def test_global_bucket_bounds_many_forged_sources() -> None:
    clock = FakeClock(0.0)
    guard = ReplyGuard(rate=5.0, burst=5.0, global_rate=10.0, global_burst=20.0, clock=clock)
    assert sum(allowed(guard, f"10.0.{i // 256}.{i % 256}", 5) for i in range(1000)) == 20
    clock.now = 1.0
    assert sum(allowed(guard, f"10.1.0.{i}", 5) for i in range(100)) == 10


def test_source_table_is_bounded() -> None:
    clock = FakeClock(0.0)
    guard = ReplyGuard(rate=1.0, burst=2.0, global_rate=1e9, global_burst=1e9, max_sources=4,
                       clock=clock)
    for i in range(4):
        guard.allow(f"10.0.0.{i}")
    assert len(guard) == 4
    guard.allow("10.0.0.9")  # nobody has refilled yet: the table is cleared
    assert len(guard) == 1
    clock.now = 5.0
    for i in range(3):
        guard.allow(f"10.0.1.{i}")
    guard.allow("10.0.2.0")  # only 10.0.0.9 has refilled: it alone is forgotten
    assert len(guard) == 4
    assert guard.allow("10.0.1.0") and not guard.allow("10.0.1.0")  # its bucket was kept


def test_governor_slots() -> None:
    governor = WorkGovernor(2)
    assert governor.try_acquire() and governor.try_acquire()
    assert not governor.try_acquire()
    assert (governor.in_flight, governor.refused) == (2, 1)
    governor.release()
    assert governor.try_acquire()
    governor.release()
    governor.release()
    with pytest.raises(ValueError, match="not taken"):
        governor.release()
    with pytest.raises(ValueError, match="at least one"):
        WorkGovernor(0)


def test_limits_from_parameters_and_validation() -> None:
    assert UdpLimits.from_parameters(Parameters()).max_concurrent == 3000
    assert UdpLimits.from_parameters(
        Parameters({"udp_max_concurrent_lpo": "7"})).max_concurrent == 7
    with pytest.raises(ValueError, match="must be > 0"):
        UdpLimits(error_rate=0)
