from __future__ import annotations

import pytest

from tests.prices.helpers import FakeClock
from trinity_beast.api.ip_guard import IpGuard
from trinity_beast.errors import TooManyRequests
from trinity_beast.params.values import Parameters


def test_burst_then_refill_per_ip() -> None:
    clock = FakeClock(0.0)
    guard = IpGuard(Parameters({"ip_rate_limit_qps": "2", "ip_rate_limit_burst": "3"}), clock)
    for _ in range(3):
        guard.check("10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        guard.check("10.0.0.1")
    assert (refused.value.code, refused.value.retry_after) == ("ip_rate_limited", 0.5)
    guard.check("10.0.0.2")  # another address has its own bucket
    clock.now = 0.5
    guard.check("10.0.0.1")
    assert guard.refused == 1


def test_zero_rate_disables_and_changes_apply_live() -> None:
    params = Parameters({"ip_rate_limit_qps": "1", "ip_rate_limit_burst": "1"})
    guard = IpGuard(params, FakeClock(0.0))
    guard.check("a")
    with pytest.raises(TooManyRequests):
        guard.check("a")
    params.apply({"ip_rate_limit_qps": "0"})
    for _ in range(100):
        guard.check("a")
