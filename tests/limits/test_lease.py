"""The lease scheme with the in-process authority and a fake clock: grants, shares, debts,
returns, and the window bound of several workers sharing one key."""

from __future__ import annotations

import asyncio
import contextlib
import math

from tests.limits.conftest import FakeClock
from trinity_beast.limits.bucket import RateLimits
from trinity_beast.limits.lease import Grant, LeaseRequest, LocalAuthority, share_of
from trinity_beast.limits.leased import LeasedRate

FREE = RateLimits(rate=1.0, burst=5, min_wait=1.0)
SLOW_RATE = 1e-6


def request(holder: str, held: int = 0, want: int = 5, released: int = 0,
            rate: float = 1.0, burst: int = 5) -> LeaseRequest:
    return LeaseRequest("ak_k", holder, rate, burst, held, want, released)


def takes(worker: LeasedRate, limits: RateLimits, now: float, count: int) -> int:
    return sum(worker.take("ak_k", limits, now) is None for _ in range(count))


def test_share_of_the_burst() -> None:
    assert [share_of(5, n) for n in (0, 1, 2, 3, 6)] == [5, 5, 2, 1, 1]


def test_a_lone_holder_gets_the_whole_burst(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    assert authority.lease_now(request("a", want=9), clock.now) == Grant(5, 0.0, 1.0)
    assert authority.lease_now(request("a", held=5), clock.now) == Grant(0, 0.0, 1.0)
    # It spent 3 of the 5 and one second passed: one new token.
    assert authority.lease_now(request("a", held=2), clock.advance(1.0)) == Grant(1, 0.0, 1.0)


def test_holdings_keep_the_bucket_from_refilling_past_its_capacity(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    assert authority.lease_now(request("a"), clock.now).granted == 5
    # Ten seconds later, a still holds its 5: the bucket has no room, b gets nothing.
    assert authority.lease_now(request("b"), clock.advance(10.0)) == Grant(0, 0.0, 1.0)
    # a gives 4 back unused and keeps 1: the 4 are free again for b, up to b's share.
    returned = request("a", held=1, released=4, want=0)
    assert authority.lease_now(returned, clock.now) == Grant(0, 4.0, 0.0)
    assert authority.lease_now(request("b"), clock.now) == Grant(2, 2.0, 0.0)


def test_several_holders_split_the_burst(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    assert authority.lease_now(request("a", want=1), clock.now).granted == 1
    assert authority.lease_now(request("b"), clock.now).granted == 2
    assert authority.lease_now(request("a", held=1), clock.now).granted == 1
    assert authority.lease_now(request("c"), clock.now) == Grant(1, 0.0, 1.0)


def test_a_silent_holder_is_forgotten(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock, holder_ttl=10.0)
    assert authority.lease_now(request("a"), clock.now).granted == 5
    assert authority.lease_now(request("b"), clock.advance(10.0)).granted == 0
    # a crashed with its 5 tokens: after the TTL they no longer count, and the bucket refills
    # from where it was (the crashed worker's tokens are lost, never handed out twice).
    assert authority.lease_now(request("b"), clock.advance(0.5)) == Grant(0, 0.5, 0.5)
    assert authority.lease_now(request("b"), clock.advance(4.5)).granted == 5
    assert len(authority) == 1
    authority.lease_now(request("b", held=0, want=0), clock.now)
    assert authority.prune(clock.advance(4.0)) == 0
    assert authority.prune(clock.advance(1.0)) == 1
    assert len(authority) == 0


async def test_a_single_worker_obtains_the_full_burst(clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    assert takes(worker, FREE, clock.now, 1) == 1
    assert worker.held("ak_k") == -1
    await worker.step()
    assert worker.held("ak_k") == 4
    assert takes(worker, FREE, clock.now, 10) == 4
    assert worker.take("ak_k", FREE, clock.now) == 1.0
    clock.advance(1.0)
    await worker.step()
    assert takes(worker, FREE, clock.now, 3) == 1


async def test_a_request_before_the_first_lease_lands_is_told_to_retry_soon(
        clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    assert worker.take("ak_k", FREE, clock.now) is None
    assert worker.take("ak_k", FREE, clock.now) == 0.002


async def test_leased_spacing_follows_the_minimum_wait(clock: FakeClock) -> None:
    limits = RateLimits(rate=2.0, burst=4, min_wait=1.0)
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    assert takes(worker, limits, clock.now, 1) == 1
    await worker.step()
    assert takes(worker, limits, clock.now, 5) == 3
    clock.advance(0.5)
    await worker.step()
    assert worker.held("ak_k") == 1
    assert worker.take("ak_k", limits, clock.now) == 0.5
    assert takes(worker, limits, clock.advance(0.5), 2) == 1


async def test_credit_is_charged_to_the_global_bucket(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    worker = LeasedRate(authority, "w1", clock=clock)
    assert takes(worker, FREE, clock.now, 1) == 1
    await worker.step()
    # 1 on credit + 4 leased = the burst; the authority holds nothing more.
    assert authority.lease_now(request("probe", want=0), clock.now) == Grant(0, 0.0, 1.0)


async def test_an_idle_worker_returns_its_tokens(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    first = LeasedRate(authority, "w1", clock=clock, idle_return=1.0)
    second = LeasedRate(authority, "w2", clock=clock, idle_return=1.0)
    assert takes(first, FREE, clock.now, 2) == 1
    await first.step()
    assert first.held("ak_k") == 4
    clock.advance(1.0)
    await first.step()
    assert first.held("ak_k") == 0
    # The 4 unused tokens and the second that passed fill the bucket: w2 gets it all.
    assert authority.lease_now(request("probe", want=0), clock.now) == Grant(0, 5.0, 0.0)
    assert takes(second, FREE, clock.now, 1) == 1
    await second.step()
    assert takes(second, FREE, clock.now, 10) == 4
    # w1 forgets the key (at its next maintenance round) since the bucket it last heard of
    # is full again.
    clock.advance(0.25)
    await first.step()
    assert first.held("ak_k") is None


async def test_a_returning_client_is_admitted_before_any_lease(clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock, idle_return=1.0)
    assert takes(worker, FREE, clock.now, 1) == 1
    await worker.step()
    clock.advance(1.0)
    await worker.step()
    assert worker.held("ak_k") == 0
    # Tokens given back, the key not yet forgotten: the last answer showed free tokens, so the
    # request is admitted on credit.
    assert takes(worker, FREE, clock.now, 2) == 1


async def test_credit_of_several_workers_delays_later_grants(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    limits = RateLimits(rate=1.0, burst=1)
    workers = [LeasedRate(authority, f"w{i}", clock=clock) for i in range(3)]
    assert sum(takes(w, limits, clock.now, 2) for w in workers) == 3
    for w in workers:
        await w.step()
    # Three admitted, one token: the bucket is at -2 and the next two tokens pay for them.
    assert [w.held("ak_k") for w in workers] == [0, 0, 0]
    admitted = 0
    for _ in range(4):
        clock.advance(1.0)
        for w in workers:
            await w.step()
            admitted += takes(w, limits, clock.now, 1)
    assert admitted == 2


async def hammer(workers: list[LeasedRate], limits: RateLimits, clock: FakeClock,
                 seconds: float, step: float) -> list[int]:
    """Every worker tries 3 requests every ``step`` seconds and runs its background round."""
    counts = [0] * len(workers)
    for _ in range(round(seconds / step)):
        for i, worker in enumerate(workers):
            counts[i] += takes(worker, limits, clock.now, 3)
            await worker.step()
        clock.advance(step)
    return counts


async def test_workers_sharing_a_key_stay_within_the_documented_bound(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    limits = RateLimits(rate=20.0, burst=10)
    workers = [LeasedRate(authority, f"w{i}", clock=clock) for i in range(3)]
    seconds = 10.0
    counts = await hammer(workers, limits, clock, seconds, 0.005)
    exact = limits.burst + limits.rate * seconds
    assert exact - len(workers) - 1 <= sum(counts) <= exact + len(workers)
    assert all(count > 0 for count in counts)


async def test_one_worker_alone_gets_the_exact_total(clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    limits = RateLimits(rate=20.0, burst=10)
    counts = await hammer([worker], limits, clock, 10.0, 0.005)
    assert math.isclose(counts[0], limits.burst + limits.rate * 10.0, abs_tol=1)


async def test_run_leases_as_soon_as_a_key_wants_tokens(clock: FakeClock) -> None:
    worker = LeasedRate(LocalAuthority(clock=clock), "w1", clock=clock)
    never = asyncio.Event()

    async def sleep_until_woken(seconds: float) -> None:
        await never.wait()

    task = asyncio.create_task(worker.run(sleep_until_woken))
    try:
        assert takes(worker, FREE, clock.now, 1) == 1
        for _ in range(100):
            if worker.held("ak_k") == 4:
                break
            await asyncio.sleep(0)
        assert worker.held("ak_k") == 4
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_busy_holder_renews_its_entry(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    worker = LeasedRate(authority, "w1", clock=clock, renew=2.0)
    limits = RateLimits(rate=SLOW_RATE, burst=10)
    assert takes(worker, limits, clock.now, 1) == 1
    await worker.step()
    for _ in range(2):  # one request every 0.9 s: never idle, never below the low-water mark
        clock.advance(0.9)
        assert takes(worker, limits, clock.now, 1) == 1
        await worker.step()
    assert authority._keys["ak_k"].holders["w1"][0] == 9
    clock.advance(0.9)  # 2.7 s since the lease: more than ``renew``
    assert takes(worker, limits, clock.now, 1) == 1
    await worker.step()
    assert authority._keys["ak_k"].holders["w1"] == (6, clock.now)


async def test_the_local_authority_prunes_in_the_background(clock: FakeClock) -> None:
    authority = LocalAuthority(clock=clock)
    assert authority.take("ak_k", FREE, clock.now) is None
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.advance(seconds)
        if len(pauses) == 2:
            raise asyncio.CancelledError

    with contextlib.suppress(asyncio.CancelledError):
        await authority.run(sleep)
    assert (pauses, len(authority)) == ([60.0, 60.0], 0)
