"""The Admission of the LPO: partner bypass, quotas, rate limits, live demo parameters."""

from __future__ import annotations

import pytest

from tests.limits.conftest import MAY_2026, FakeClock, key_record
from trinity_beast.errors import TooManyRequests
from trinity_beast.keys.model import KeyRecord
from trinity_beast.limits.admission import Admission
from trinity_beast.limits.lease import LocalAuthority
from trinity_beast.limits.leased import LeasedRate
from trinity_beast.limits.limiter import Limiter, limits_of
from trinity_beast.limits.quota import month_bounds
from trinity_beast.params.definitions import PROFILES
from trinity_beast.params.values import Parameters

NEXT_MONTH = month_bounds(MAY_2026)[1]


def refusal(limiter: Admission, key: KeyRecord, now: float) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as caught:
        limiter.admit(key, now)
    return caught.value


def admitted(limiter: Admission, key: KeyRecord, now: float, count: int) -> int:
    """How many of ``count`` requests at ``now`` are admitted."""
    done = 0
    for _ in range(count):
        try:
            limiter.admit(key, now)
        except TooManyRequests:
            continue
        done += 1
    return done


def test_free_key_burst_then_one_per_second(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    key = key_record("free")
    assert admitted(limiter, key, clock.now, 5) == 5
    refused = refusal(limiter, key, clock.now)
    assert (refused.status, refused.code, refused.retry_after) == (429, "rate_limited", 1.0)
    assert admitted(limiter, key, clock.advance(1.0), 2) == 1
    assert refusal(limiter, key, clock.advance(0.25)).retry_after == 0.75
    assert admitted(limiter, key, clock.advance(0.75), 1) == 1


def test_quota_exhaustion_and_the_next_month(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    key = key_record("pro", query_limit=50_000, current_usage=49_997)
    assert admitted(limiter, key, clock.now, 3) == 3
    refused = refusal(limiter, key, clock.now)
    assert (refused.status, refused.code) == (429, "quota_exceeded")
    assert refused.retry_after == NEXT_MONTH - clock.now
    assert admitted(limiter, key, NEXT_MONTH, 1) == 1


def test_a_refused_request_costs_no_quota(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    key = key_record("free", query_limit=6, current_usage=0)
    assert admitted(limiter, key, clock.now, 8) == 5
    assert admitted(limiter, key, clock.advance(1.0), 3) == 1
    assert refusal(limiter, key, clock.advance(10.0)).code == "quota_exceeded"


def test_partner_keys_bypass_every_limit(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    assert admitted(limiter, key_record("partner"), clock.now, 10_000) == 10_000
    capped = key_record("partner", query_limit=1, current_usage=5, rate_limit_qps=1.0,
                        burst_limit=1)
    assert admitted(limiter, capped, clock.now, 100) == 100


def test_a_key_without_a_rate_has_only_its_quota(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    key = key_record("free", rate_limit_qps=None, query_limit=1000, current_usage=0)
    assert admitted(limiter, key, clock.now, 1500) == 1000
    assert limits_of(key) is None


def test_unlimited_tier_has_no_quota_but_a_rate(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    key = key_record("unlimited", current_usage=10**9)
    assert admitted(limiter, key, clock.now, 250) == 200


def test_the_demo_key_follows_qps_and_burst_live(clock: FakeClock) -> None:
    params = Parameters()
    limiter = Limiter(params)
    demo = key_record("demo", key_id="ak_demo")
    assert admitted(limiter, demo, clock.now, 5) == 3
    assert refusal(limiter, demo, clock.now).retry_after == pytest.approx(1 / 3)
    params.apply({"qps": "1", "burst": "2"})
    assert refusal(limiter, demo, clock.advance(0.5)).retry_after == 0.5
    assert admitted(limiter, demo, clock.advance(0.5), 5) == 1
    params.apply(PROFILES["performance"])
    assert admitted(limiter, demo, clock.advance(1.0), 2000) == 1000
    params.apply(PROFILES["demo"])
    assert admitted(limiter, demo, clock.advance(1.0), 5) == 3


def test_a_fresher_record_brings_new_limits_and_usage(clock: FakeClock) -> None:
    limiter = Limiter(Parameters())
    free = key_record("free", current_usage=0)
    assert admitted(limiter, free, clock.now, 6) == 5
    upgraded = key_record("pro", current_usage=3, written=clock.now + 1)
    # Same bucket, new rate, capacity and spacing: 10 tokens a second up to 20, and 0.1 s
    # between admissions until the bucket is full again (the burst was spent).
    assert admitted(limiter, upgraded, clock.advance(1.0), 30) == 1
    assert refusal(limiter, upgraded, clock.now).retry_after == pytest.approx(0.1)
    assert admitted(limiter, upgraded, clock.advance(0.1), 30) == 1
    assert admitted(limiter, upgraded, clock.advance(5.0), 30) == 20
    used_up = key_record("pro", current_usage=50_000, written=clock.now)
    assert refusal(limiter, used_up, clock.now).code == "quota_exceeded"


def test_limiters_sharing_a_local_authority_are_exact_together(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    workers = [Limiter(Parameters(), authority) for _ in range(3)]
    key = key_record("free")
    assert sum(admitted(w, key, clock.now, 3) for w in workers) == 5
    assert refusal(workers[0], key, clock.now).retry_after == 1.0
    for _ in range(10):
        clock.advance(1.0)
        assert sum(admitted(w, key, clock.now, 2) for w in workers) == 1


async def test_a_limiter_over_leased_tokens(clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    limiter = Limiter(Parameters(), worker)
    key = key_record("free", query_limit=1000, current_usage=990)
    assert admitted(limiter, key, clock.now, 3) == 1
    await worker.step()
    assert admitted(limiter, key, clock.now, 10) == 4
    assert refusal(limiter, key, clock.now).retry_after == 1.0
    assert admitted(limiter, key_record("partner", key_id="ak_partner"), clock.now, 50) == 50
    for _ in range(10):
        clock.advance(1.0)
        await worker.step()
        admitted(limiter, key, clock.now, 1)
    assert refusal(limiter, key, clock.now).code == "quota_exceeded"
