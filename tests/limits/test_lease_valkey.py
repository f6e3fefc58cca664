"""The lease authority in the real Valkey/Redis: the same grants as the in-process one, and
several workers (separate LeasedRate instances, as in separate processes or nodes) sharing it."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from tests.limits.conftest import FakeClock
from trinity_beast.cache.valkey import redis_client
from trinity_beast.limits.bucket import RateLimits
from trinity_beast.limits.lease import (
    AuthorityUnavailable,
    Grant,
    LeaseRequest,
    LocalAuthority,
)
from trinity_beast.limits.lease_valkey import ValkeyAuthority
from trinity_beast.limits.leased import LeasedRate
from trinity_beast.params.values import Parameters

SLOW = 1e-6
"""A rate so low that no token is earned while a test runs: grants are exact numbers."""

SCENARIO = [
    # holder, held, want, released, spent — shares, caps, returns, credit, leaving holders
    ("a", 0, 9, 0, 0),
    ("b", 0, 5, 0, 0),
    ("a", 3, 5, 2, 0),
    ("b", 0, 5, 0, 0),
    ("c", 0, 5, 0, 1),
    ("a", 0, 0, 3, 0),
    ("b", 2, 5, 0, 0),
    ("c", 0, 0, 0, 0),
    ("b", 2, 5, 0, 0),
]


def requests(burst: int = 5) -> list[LeaseRequest]:
    return [LeaseRequest("ak_k", holder, SLOW, burst, held, want, released, spent)
            for holder, held, want, released, spent in SCENARIO]


def same(valkey_grants: list[Grant], local_grants: list[Grant]) -> bool:
    return all(v.granted == g.granted and v.left == pytest.approx(g.left, abs=1e-3)
               for v, g in zip(valkey_grants, local_grants, strict=True))


async def test_the_script_grants_what_the_local_authority_grants(
        valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    authority = ValkeyAuthority(client, prefix)
    local = LocalAuthority(clock=FakeClock())
    valkey_grants = [(await authority.lease([r]))[0] for r in requests()]
    local_grants = [(await local.lease([r]))[0] for r in requests()]
    assert [g.granted for g in local_grants] == [5, 0, 0, 2, 0, 0, 0, 0, 2]
    assert same(valkey_grants, local_grants)


async def test_one_pipeline_carries_many_keys(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    authority = ValkeyAuthority(client, prefix)
    batch = [LeaseRequest(f"ak_{i}", "a", SLOW, i + 1, 0, 100) for i in range(20)]
    assert [g.granted for g in await authority.lease(batch)] == list(range(1, 21))
    assert await authority.lease([]) == []
    fields = await client.hgetall(authority.key("ak_3"))
    assert fields["t"] == "0" and str(fields["h:a"]).startswith("4:")
    assert await client.pttl(authority.key("ak_3")) > 0


async def test_a_silent_holder_expires_in_valkey(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    authority = ValkeyAuthority(client, prefix, holder_ttl=0.2)
    rate = 1000.0
    assert (await authority.lease([LeaseRequest("ak_k", "a", rate, 5, 0, 5)]))[0].granted == 5
    await asyncio.sleep(0.3)  # longer than the TTL: a no longer counts
    assert (await authority.lease([LeaseRequest("ak_k", "b", rate, 5, 0, 5)]))[0].granted == 5
    assert sorted(await client.hgetall(authority.key("ak_k"))) == ["h:b", "t", "ts"]


async def test_an_unreachable_valkey_is_unavailable() -> None:
    client = redis_client("redis://127.0.0.1:1/0", Parameters({"cache_max_retries": "0"}))
    try:
        with pytest.raises(AuthorityUnavailable):
            await ValkeyAuthority(client).lease([LeaseRequest("ak_k", "a", 1.0, 5, 0, 5)])
    finally:
        await client.aclose()


def workers(client: Redis, prefix: str, count: int) -> list[LeasedRate]:
    authority = ValkeyAuthority(client, prefix)
    return [LeasedRate(authority, f"w{i}") for i in range(count)]


async def test_a_single_worker_obtains_the_full_burst(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    (worker,) = workers(client, prefix, 1)
    limits = RateLimits(SLOW, 5)
    assert worker.take("ak_k", limits, time.time()) is None
    await worker.step()
    assert worker.held("ak_k") == 4
    assert [worker.take("ak_k", limits, time.time()) is None for _ in range(5)] == \
        [True] * 4 + [False]


async def test_workers_split_the_burst(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    first, second, third = workers(client, prefix, 3)
    limits = RateLimits(SLOW, 6)
    for worker in (first, second, third):
        assert worker.take("ak_k", limits, time.time()) is None
        await worker.step()
    # first took the burst alone (1 on credit + 5); the others' credit made the bucket negative.
    assert [w.held("ak_k") for w in (first, second, third)] == [5, 0, 0]
    fields = await client.hgetall(ValkeyAuthority(client, prefix).key("ak_k"))
    assert float(fields["t"]) == pytest.approx(-2, abs=1e-3)


async def test_several_workers_stay_within_the_bound_over_a_window(
        valkey: tuple[Redis, str]) -> None:
    """Three workers, each with its background loop, hammer one key for a second of real
    time: the total is the burst plus the refill, give or take the documented bound."""
    client, prefix = valkey
    team = workers(client, prefix, 3)
    limits = RateLimits(20.0, 5)
    loops = [asyncio.create_task(worker.run()) for worker in team]
    start = await server_time(client)

    async def hammer(worker: LeasedRate) -> int:
        admitted = 0
        while time.monotonic() - start.monotonic < 1.0:
            admitted += sum(worker.take("ak_k", limits, time.time()) is None for _ in range(3))
            await asyncio.sleep(0.0005)
        return admitted

    try:
        admitted = await asyncio.gather(*(hammer(worker) for worker in team))
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    elapsed = (await server_time(client)).seconds - start.seconds
    assert limits.burst <= sum(admitted) <= limits.burst + limits.rate * elapsed + len(team)
    assert all(count >= 1 for count in admitted)


class ServerTime:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.monotonic = time.monotonic()


async def server_time(client: Redis) -> ServerTime:
    seconds, micros = await client.time()
    return ServerTime(seconds + micros / 1_000_000)

