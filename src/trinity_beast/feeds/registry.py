"""Find every exchange adapter module in this package (those with ``ADAPTER`` and ``REPLAY``)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from trinity_beast import feeds
from trinity_beast.feeds.base import ExchangeAdapter, ReplayProtocol

_INFRASTRUCTURE = frozenset({"base", "registry", "connection", "manager"})


@cache
def adapters() -> dict[str, ExchangeAdapter]:
    """All adapters by exchange name, in a stable (alphabetical) order."""
    found: dict[str, ExchangeAdapter] = {}
    for info in sorted(pkgutil.iter_modules(feeds.__path__), key=lambda m: m.name):
        if info.name in _INFRASTRUCTURE or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{feeds.__name__}.{info.name}")
        adapter = getattr(module, "ADAPTER", None)
        if isinstance(adapter, ExchangeAdapter):
            found[adapter.name] = adapter
    return found


@cache
def replay_protocols() -> dict[str, ReplayProtocol]:
    """The replay (server) side of every adapter module, by exchange name."""
    found: dict[str, ReplayProtocol] = {}
    for name in adapters():
        module = importlib.import_module(f"{feeds.__name__}.{name}")
        replay = getattr(module, "REPLAY", None)
        if isinstance(replay, ReplayProtocol):
            found[name] = replay
    return found
