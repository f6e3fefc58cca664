"""The Distributed Adaptive Connection Governor: cap, throttle, hot parameters, the cluster
board in the real Valkey/Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tests.limits.conftest import FakeClock
from trinity_beast.cache.valkey import redis_client
from trinity_beast.errors import Unavailable
from trinity_beast.limits.governor import Governor
from trinity_beast.limits.governor_valkey import ValkeyBoard
from trinity_beast.params.values import Parameters


def params(most: int = 100, threshold: float = 0.5, delay_ms: int = 250) -> Parameters:
    return Parameters({"adaptive_max_concurrent": str(most),
                       "adaptive_success_threshold": str(threshold),
                       "adaptive_throttle_delay_ms": str(delay_ms)})


def serve(governor: Governor, ok: int, failed: int) -> None:
    """``ok + failed`` requests in and out."""
    for success in [True] * ok + [False] * failed:
        governor.enter()
        governor.leave(success)


def test_the_cap_refuses_work_beyond_it(clock: FakeClock) -> None:
    governor = Governor(params(most=3), "n1", clock=clock)
    for _ in range(3):
        governor.enter()
    with pytest.raises(Unavailable) as refused:
        governor.enter()
    assert (refused.value.status, refused.value.code) == (503, "overloaded")
    assert (governor.inflight, governor.refused, governor.refusal_delay) == (3, 1, 0.0)
    governor.leave(True)
    governor.enter()
    assert governor.inflight == 3


async def test_a_low_success_ratio_throttles_then_recovers(clock: FakeClock) -> None:
    governor = Governor(params(), "n1", clock=clock, window=3, min_samples=10, hold_ticks=2)
    serve(governor, ok=3, failed=7)
    await governor.tick()
    assert governor.throttling
    assert (governor.view.throttle, governor.cap, governor.refusal_delay) == (0.3, 30, 0.25)
    clock.advance(1.0)
    serve(governor, ok=20, failed=0)
    await governor.tick()  # 23 of 30 over the window: fine, but the flag holds for 2 ticks
    assert (governor.throttling, governor.cap) == (True, 30)
    clock.advance(1.0)
    await governor.tick()
    assert (governor.throttling, governor.cap, governor.refusal_delay) == (False, 100, 0.0)


async def test_too_few_outcomes_never_throttle(clock: FakeClock) -> None:
    governor = Governor(params(), "n1", clock=clock, min_samples=10)
    serve(governor, ok=0, failed=9)
    await governor.tick()
    assert not governor.throttling


async def test_a_zero_ratio_keeps_one_probe_per_node(clock: FakeClock) -> None:
    governor = Governor(params(), "n1", clock=clock, min_samples=5)
    serve(governor, ok=0, failed=5)
    await governor.tick()
    assert (governor.view.throttle, governor.cap) == (0.0, 1)


async def test_parameters_apply_at_once(clock: FakeClock) -> None:
    values = params()
    governor = Governor(values, "n1", clock=clock, min_samples=10)
    values.apply({"adaptive_max_concurrent": "2"})
    assert governor.cap == 2
    serve(governor, ok=4, failed=6)
    await governor.tick()
    assert (governor.cap, governor.refusal_delay) == (1, 0.25)
    values.apply({"adaptive_throttle_delay_ms": "40", "adaptive_max_concurrent": "50"})
    assert (governor.cap, governor.refusal_delay) == (20, 0.04)


async def test_run_ticks_every_interval(clock: FakeClock) -> None:
    governor = Governor(params(), "n1", clock=clock, tick=0.5)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            raise asyncio.CancelledError

    governor.enter()
    with pytest.raises(asyncio.CancelledError):
        await governor.run(sleep)
    assert pauses == [0.5, 0.5, 0.5]


async def test_nodes_see_each_other_through_valkey(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    values = params()
    first = Governor(values, "node-a", ValkeyBoard(client, prefix), min_samples=10)
    second = Governor(values, "node-b", ValkeyBoard(client, prefix), min_samples=10)
    for _ in range(4):
        first.enter()
    await first.tick()
    await second.tick()
    assert (second.view.others_inflight, second.cap) == (4, 96)
    board = ValkeyBoard(client, prefix)
    assert await client.hgetall(board.key("inflight")) == {"node-a": "4", "node-b": "0"}
    # node-b's answers fail: the whole cluster throttles.
    serve(second, ok=2, failed=8)
    await second.tick()
    await first.tick()
    assert first.view.throttle == pytest.approx(0.2)
    assert (first.cap, first.refusal_delay) == (20, 0.25)
    assert await client.get(board.key("throttle")) == "0.200000"
    assert 0 < await client.pttl(board.key("throttle")) <= 3000
    assert await client.hgetall(board.key("total")) == {"node-a": "0", "node-b": "10"}


async def test_a_silent_node_drops_out(valkey: tuple[Redis, str]) -> None:
    client, prefix = valkey
    values = params()
    first = Governor(values, "node-a", ValkeyBoard(client, prefix, stale=0.2))
    second = Governor(values, "node-b", ValkeyBoard(client, prefix, stale=0.2))
    first.enter()
    await first.tick()
    await second.tick()
    assert second.view.others_inflight == 1
    await asyncio.sleep(0.3)  # longer than ``stale``: node-a stopped reporting
    await second.tick()
    assert second.view.others_inflight == 0
    assert await client.hgetall(ValkeyBoard(client, prefix).key("seen")) != {}
    assert "node-a" not in await client.hgetall(ValkeyBoard(client, prefix).key("inflight"))


async def test_an_unreachable_board_leaves_the_node_on_its_own(clock: FakeClock) -> None:
    client = redis_client("redis://127.0.0.1:1/0", Parameters({"cache_max_retries": "0"}))
    try:
        governor = Governor(params(), "n1", ValkeyBoard(client), clock=clock, min_samples=5)
        serve(governor, ok=1, failed=4)
        await governor.tick()
        assert (governor.view.others_inflight, governor.view.throttle) == (0, 0.2)
        assert governor.cap == 20
    finally:
        await client.aclose()
