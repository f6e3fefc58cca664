"""Health of one exchange feed, written by its connection loop and read by lookups and /health."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["disabled", "connecting", "live", "stale"]


@dataclass(slots=True)
class FeedStatus:
    exchange: str
    idle_timeout: float = 60.0
    clock: Callable[[], float] = time.time
    connected: bool = False
    enabled: bool = True
    connected_at: float | None = None
    last_data_at: float | None = None
    last_frame_at: float | None = None
    last_error: str | None = None
    frames: int = 0
    data_frames: int = 0
    quotes: int = 0
    malformed: int = 0
    connects: int = 0
    reconnects: int = 0
    subscribed: frozenset[str] = field(default_factory=frozenset)

    @property
    def live(self) -> bool:
        """Connected and a data frame arrived within ``idle_timeout`` seconds."""
        if not self.connected or self.last_data_at is None:
            return False
        return self.clock() - self.last_data_at <= self.idle_timeout

    @property
    def state(self) -> State:
        if not self.enabled:
            return "disabled"
        if self.live:
            return "live"
        return "stale" if self.last_data_at is not None else "connecting"

    def as_dict(self) -> dict[str, object]:
        now = self.clock()
        return {
            "state": self.state,
            "connected": self.connected,
            "last_data_age_seconds": (
                None if self.last_data_at is None else round(now - self.last_data_at, 3)
            ),
            "subscribed": len(self.subscribed),
            "frames": self.frames,
            "data_frames": self.data_frames,
            "quotes": self.quotes,
            "malformed": self.malformed,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }
