"""``GET /health`` and ``GET /exchanges``: public, no key needed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import msgspec

from trinity_beast import __version__
from trinity_beast.api.envelope import Envelope
from trinity_beast.feeds.base import ExchangeAdapter
from trinity_beast.feeds.status import FeedStatus
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook


class HealthView:
    def __init__(self, envelope: Envelope, role: str, statuses: Mapping[str, FeedStatus],
                 adapters: Mapping[str, ExchangeAdapter], book: PriceBook, params: Parameters,
                 clock: Callable[[], float] = time.time) -> None:
        self.envelope = envelope
        self.role = role
        self.statuses = statuses
        self.adapters = adapters
        self.book = book
        self.params = params
        self.clock = clock
        self.started = clock()

    def render(self) -> bytes:
        feeds = {name: s.as_dict() for name, s in self.statuses.items()}
        live = sum(1 for s in self.statuses.values() if s.live)
        enabled = sum(1 for s in self.statuses.values() if s.enabled and s.subscribed)
        state = "ok" if live == enabled else ("degraded" if live else "down")
        return msgspec.json.encode({
            "status": self.envelope.status("/health", 200),
            "status_code": 200,
            "endpoint": "/health",
            "health": state,
            "node": self.envelope.node,
            "server_type": self.role,
            "version": __version__,
            "pid": os.getpid(),
            "uptime_s": round(self.clock() - self.started, 1),
            "feeds_live": live,
            "assets_priced": len(self.book),
            "feeds": feeds,
        })

    def exchanges(self) -> bytes:
        listing = [
            {"exchange": name, "source": adapter.source,
             "state": self.statuses[name].state if name in self.statuses else "disabled",
             "assets": [a.lower() for a in self.params.get_assets(f"{name}_prewarm_assets")]}
            for name, adapter in self.adapters.items()
        ]
        return msgspec.json.encode({
            "status": self.envelope.status("/exchanges", 200), "status_code": 200,
            "endpoint": "/exchanges", "count": len(listing), "exchanges": listing,
        })
