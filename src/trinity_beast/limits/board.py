"""What a node and the governor's board exchange every tick (see :mod:`~.governor`): the node's
report, and the board's view of the rest of the cluster. Wire structs only, so that the
governor itself can be compiled (docs/compiled.md)."""

from __future__ import annotations

import msgspec


class NodeReport(msgspec.Struct, frozen=True):
    node: str
    inflight: int
    successes: int
    total: int
    """Outcomes over the node's last window."""
    threshold: float
    min_samples: int
    hold: float
    """Seconds the throttle flag lasts once set."""


class ClusterView(msgspec.Struct, frozen=True):
    others_inflight: int
    successes: int
    total: int
    throttle: float | None
    """The success ratio that set the throttle flag, ``None`` when not throttling."""


class BoardUnavailable(RuntimeError):
    """The board could not be reached this tick (the governor uses its local board instead)."""
