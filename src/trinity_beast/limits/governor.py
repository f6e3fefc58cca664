"""The Distributed Adaptive Connection Governor (seed §10, API.md §4).

Hot path: :meth:`Governor.enter` before serving, :meth:`Governor.leave` after (``success`` =
the answer was not a server failure, i.e. status < 500); both only touch integers. Refused work
gets ``503 overloaded``; while the cluster is throttling the front-end waits
:attr:`Governor.refusal_delay` (``adaptive_throttle_delay_ms``) before sending that answer.

Every ``tick`` seconds (:meth:`Governor.run`) the node exchanges its numbers with a board:

* it reports its in-flight count and its successes/total over the last ``window`` ticks;
* the board answers the other nodes' in-flight sum, the cluster's successes/total, and the
  throttle flag: whenever the cluster holds at least ``min_samples`` outcomes and
  ``successes < adaptive_success_threshold * total``, the flag is (re)set to that success ratio
  for ``hold_ticks`` ticks;
* cap: ``adaptive_max_concurrent`` (* the flag's ratio while throttling), minus the other nodes'
  in-flight, at least 1 while throttling (so each node keeps probing) and at least 0 otherwise.

:class:`LocalBoard` is a one-node board (no Valkey); ``governor_valkey.ValkeyBoard`` is the
cluster's, in ``{adaptive:lpo}:*``. A board that fails is replaced by the local one for that
tick. Parameters are re-read on every change (``Parameters.subscribe``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import Protocol

from trinity_beast.errors import Unavailable
from trinity_beast.limits.board import BoardUnavailable, ClusterView, NodeReport
from trinity_beast.limits.lease import Clock, Sleep, raise_if_cancelled
from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)

OVERLOADED = "overloaded"


class ClusterBoard(Protocol):
    async def exchange(self, report: NodeReport) -> ClusterView:
        """Publish ``report``, return the cluster as it stands; raises
        :class:`BoardUnavailable`."""
        ...


class LocalBoard:
    """The board of a node alone: its own numbers, the same throttle rule."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._flag: float | None = None
        self._until = -math.inf

    async def exchange(self, report: NodeReport) -> ClusterView:
        now = self._clock()
        if report.total >= report.min_samples and \
                report.successes < report.threshold * report.total:
            self._flag = report.successes / report.total
            self._until = now + report.hold
        throttle = self._flag if now < self._until else None
        return ClusterView(0, report.successes, report.total, throttle)


class Governor:
    def __init__(self, params: Parameters, node: str, board: ClusterBoard | None = None, *,
                 clock: Clock = time.time, tick: float = 1.0, window: int = 10,
                 min_samples: int = 20, hold_ticks: int = 3) -> None:
        self.node = node
        self._params = params
        self._local = LocalBoard(clock)
        self._board: ClusterBoard = board if board is not None else self._local
        self._tick = tick
        self._min_samples = min_samples
        self._hold = hold_ticks * tick
        self._ring: deque[tuple[int, int]] = deque(maxlen=window)
        self._ok = 0
        self._total = 0
        self.inflight = 0
        self.refused = 0
        self.view = ClusterView(0, 0, 0, None)
        self.cap = 0
        self.refusal_delay = 0.0
        """Seconds the front-end waits before answering a refusal (0 unless throttling)."""
        self._decide()
        params.subscribe(self._on_params)

    @property
    def throttling(self) -> bool:
        return self.view.throttle is not None

    def enter(self) -> None:
        """Count one unit of work in; raises ``Unavailable`` (503 ``overloaded``) at the cap."""
        if self.inflight >= self.cap:
            self.refused += 1
            raise Unavailable("the service is at capacity, retry shortly", code=OVERLOADED,
                              retry_after=self._tick)
        self.inflight += 1

    def leave(self, success: bool) -> None:
        """Count one unit of work out, with its outcome (refusals by :meth:`enter` are not
        outcomes: they never entered)."""
        self.inflight -= 1
        self._total += 1
        if success:
            self._ok += 1

    async def tick(self) -> None:
        """Close the current tick, exchange with the board, recompute the cap."""
        self._ring.append((self._ok, self._total))
        self._ok = self._total = 0
        report = NodeReport(
            self.node, self.inflight, sum(ok for ok, _ in self._ring),
            sum(total for _, total in self._ring),
            self._params.get_float("adaptive_success_threshold"), self._min_samples, self._hold)
        try:
            self.view = await self._board.exchange(report)
        except BoardUnavailable as exc:
            log.warning("governor board unavailable, node-local view: %s", exc)
            self.view = await self._local.exchange(report)
        self._decide()

    async def run(self, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            await self.tick()
            raise_if_cancelled()
            await sleep(self._tick)

    def _decide(self) -> None:
        most = self._params.get_int("adaptive_max_concurrent")
        throttle = self.view.throttle
        if throttle is None:
            self.cap = max(0, most - self.view.others_inflight)
            self.refusal_delay = 0.0
        else:
            self.cap = max(1, math.floor(most * throttle) - self.view.others_inflight)
            self.refusal_delay = self._params.get_int("adaptive_throttle_delay_ms") / 1000

    def _on_params(self, params: Parameters, changed: frozenset[str]) -> None:
        if any(name.startswith("adaptive_") for name in changed):
            self._decide()
