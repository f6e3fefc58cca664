"""The composition root of the data layer: one place that picks every store from the settings.

``DATABASE_URL`` selects PostgreSQL or SQLite for the stores, ``REDIS_URL`` Valkey or the
in-process cache. On SQLite the database is prepared (migrated, parameter defaults seeded, demo
key seeded) whenever the stores are opened; on PostgreSQL ``beast migrate`` does it (the same
:func:`prepare_database`, idempotent, so a server may also call it at start).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.cache.base import Cache, CacheUnavailable
from trinity_beast.cache.factory import open_cache
from trinity_beast.db.engine import (
    DatabaseUnavailable,
    DatabaseUrlError,
    create_engine,
    dispose_engine,
)
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import current_revision, upgrade
from trinity_beast.db.params import SqlParamStore
from trinity_beast.keys.cache import INVALIDATE_CHANNEL
from trinity_beast.keys.model import KeyRecord
from trinity_beast.keys.store import KeyStore, UnknownKey, UnknownTier
from trinity_beast.params.definitions import PARAMS, InvalidParameter
from trinity_beast.params.store import ConfigMirror, ParamStore, UnknownProfile, publish_change
from trinity_beast.params.values import Parameters
from trinity_beast.secrets import SecretsFileError
from trinity_beast.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)

USER_ERRORS = (
    SettingsError, SecretsFileError, DatabaseUrlError, DatabaseUnavailable, CacheUnavailable,
    InvalidParameter, UnknownKey, UnknownTier, UnknownProfile,
)
"""Errors a person can cause or fix; a command shows their message, never a traceback."""


@dataclass(slots=True)
class Stores:
    settings: Settings
    params: Parameters
    engine: AsyncEngine
    keys: KeyStore
    param_store: ParamStore
    cache: Cache
    mirror: ConfigMirror | None
    """``app:config`` when the cache is shared (Valkey); None for one process."""

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def announce_key_change(self, key_id: str) -> None:
        """Tell every node to re-read ``key_id`` (shared cache only; a failure is only logged:
        the change is in the database and the sync job delivers it anyway)."""
        if not self.cache.shared:
            return
        try:
            await self.cache.publish(INVALIDATE_CHANNEL, key_id)
        except CacheUnavailable as exc:
            log.warning("key %s changed, but the invalidation was not published: %s",
                        key_id, exc)

    async def announce_param_change(self, names: list[str]) -> None:
        """Rewrite ``app:config`` from the database and tell the nodes (shared cache only; a
        failure is only logged: the nodes read the database when they reload)."""
        try:
            await publish_change(self.param_store, self.cache, names)
        except CacheUnavailable as exc:
            log.warning("parameters stored, but app:config was not updated: %s", exc)

    async def aclose(self) -> None:
        await self.cache.aclose()
        await dispose_engine(self.engine)


@dataclass(frozen=True, slots=True)
class Prepared:
    revision: str
    seeded_params: list[str]
    demo_key: KeyRecord | None


def build_stores(settings: Settings, params: Parameters | None = None) -> Stores:
    """The stores of ``settings`` (nothing is connected yet)."""
    params = params or Parameters()
    engine = create_engine(settings.database_url, params)
    cache = open_cache(settings, params)
    return Stores(
        settings=settings, params=params, engine=engine, keys=SqlKeyStore(engine),
        param_store=SqlParamStore(engine), cache=cache,
        mirror=ConfigMirror(cache) if cache.shared else None,
    )


async def prepare_database(stores: Stores) -> Prepared:
    """Migrate to the newest revision, seed missing parameter defaults and the demo key."""
    await upgrade(stores.engine)
    seeded = await stores.param_store.seed_defaults()
    demo = None
    if stores.settings.seed_demo_key:
        stored = await stores.param_store.load()
        demo_key = stored.get("demo_api_key", PARAMS["demo_api_key"].default)
        demo = await stores.keys.ensure_demo_key(demo_key)
    return Prepared(await current_revision(stores.engine) or "", seeded, demo)


@asynccontextmanager
async def opened_stores(settings: Settings, params: Parameters | None = None, *,
                        prepare: bool | None = None) -> AsyncIterator[Stores]:
    """Open the stores; ``prepare`` defaults to True on SQLite (migrate before use)."""
    stores = build_stores(settings, params)
    try:
        if stores.is_sqlite if prepare is None else prepare:
            await prepare_database(stores)
        yield stores
    finally:
        await stores.aclose()


def run_command(body: Callable[[Stores], Awaitable[int]], *, prepare: bool | None = None) -> int:
    """Run one ``beast`` command against the configured stores; user errors become a message
    on stderr and exit code 1."""
    async def main() -> int:
        async with opened_stores(load_settings(), prepare=prepare) as stores:
            return await body(stores)

    try:
        return asyncio.run(main())
    except USER_ERRORS as exc:
        print(f"beast: error: {exc}", file=sys.stderr)
        return 1
