"""Live parameter reload into a :class:`~trinity_beast.params.values.Parameters` object.

:meth:`Reloader.run` reloads every ``application_parameter_interval_minutes`` (read again after
each round, so changing it takes effect at the next wait) and at once after :meth:`reload_now`.
A periodic reload follows API.md §17 (Valkey ``app:config``, database when it is empty, then
write-through); a reload on demand reads the database, the source of truth, and rewrites
``app:config`` from it. Changed values reach the listeners of the ``Parameters`` object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from trinity_beast.cache.base import CacheUnavailable, Subscription
from trinity_beast.db.engine import DatabaseUnavailable
from trinity_beast.params.definitions import PARAMS
from trinity_beast.params.store import ConfigMirror, ParamStore, apply_profile
from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
INTERVAL_PARAM = "application_parameter_interval_minutes"


class Reloader:
    def __init__(self, params: Parameters, store: ParamStore,
                 mirror: ConfigMirror | None = None) -> None:
        self.params = params
        self.store = store
        self.mirror = mirror
        self._wake = asyncio.Event()
        self._ignored: set[str] = set()

    def reload_now(self) -> None:
        """Ask :meth:`run` for an immediate reload from the database."""
        self._wake.set()

    async def reload_once(self, *, from_database: bool = False) -> frozenset[str]:
        """Load and apply the stored values; returns the names whose value changed."""
        values = {} if from_database else await self._read_mirror()
        if not values:
            values = await self.store.load()
            await self._write_mirror(values)
        known = {name: text for name, text in values.items() if name in PARAMS}
        self._warn_unknown(values.keys() - known.keys())
        before = self.params.as_text()
        self.params.apply(known)
        after = self.params.as_text()
        return frozenset(name for name in known if before[name] != after[name])

    async def apply_profile(self, name: str) -> dict[str, str]:
        """Write profile ``name`` (demo/performance/debug) to the store and reload at once."""
        values = await apply_profile(self.store, name)
        await self.reload_once(from_database=True)
        return values

    async def follow(self, subscription: Subscription) -> None:
        """Reload on demand at every message (``params:changed``); runs until cancelled."""
        async for _names in subscription:
            self.reload_now()

    async def run(self, *, sleep: Sleep = asyncio.sleep) -> None:
        """Reload forever; a failed round keeps the current values and waits for the next."""
        while True:
            forced = await self._wait(self.params.get_int(INTERVAL_PARAM) * 60.0, sleep)
            try:
                changed = await self.reload_once(from_database=forced)
            except (DatabaseUnavailable, CacheUnavailable) as exc:
                log.warning("parameter reload failed, values kept", extra={"error": str(exc)})
                continue
            if changed:
                log.info("parameters reloaded", extra={"changed": sorted(changed)})

    async def _wait(self, seconds: float, sleep: Sleep) -> bool:
        """Wait for the interval or :meth:`reload_now`; True when woken on demand."""
        timer = asyncio.ensure_future(sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({timer, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            woken.cancel()
        forced = self._wake.is_set()
        self._wake.clear()
        return forced

    async def _read_mirror(self) -> dict[str, str]:
        if self.mirror is None:
            return {}
        try:
            return await self.mirror.read()
        except CacheUnavailable as exc:
            log.warning("app:config unreadable, using the database", extra={"error": str(exc)})
            return {}

    async def _write_mirror(self, values: dict[str, str]) -> None:
        if self.mirror is None:
            return
        try:
            await self.mirror.write(values)
        except CacheUnavailable as exc:
            log.warning("app:config not updated", extra={"error": str(exc)})

    def _warn_unknown(self, names: Iterable[str]) -> None:
        for name in sorted(set(names) - self._ignored):
            log.warning("stored parameter unknown to this version, ignored",
                        extra={"param": name})
            self._ignored.add(name)
