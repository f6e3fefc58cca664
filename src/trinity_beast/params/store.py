"""Parameter persistence: the store interface, the Valkey mirror ``app:config``, profiles.

The database (``application_parameters``) is the source of truth. When Valkey is configured the
hash ``app:config`` mirrors it for every node (API.md §17: read Valkey, fall back to the
database, write the database's values through to Valkey). Values are stored in their normal
text form (:func:`normalise`), so the same value always reads the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Protocol

from trinity_beast.cache.base import Cache
from trinity_beast.params.definitions import (
    PARAMS,
    InvalidParameter,
    Param,
    format_value,
    parse_value,
)

CONFIG_HASH = "app:config"
CHANGED_CHANNEL = "params:changed"
"""Published (message: the changed names, comma-separated) after a change is written."""


class UnknownProfile(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown profile {name!r}; known profiles: {', '.join(known)}")


def definition(name: str) -> Param:
    """The definition of ``name``; :class:`InvalidParameter` (with a close match) if unknown."""
    param = PARAMS.get(name)
    if param is None:
        close = difflib.get_close_matches(name, PARAMS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InvalidParameter(f"unknown parameter {name!r}{hint}")
    return param


def normalise(name: str, text: str) -> str:
    """The normal text form of a value; :class:`InvalidParameter` with a clear reason if refused."""
    return format_value(parse_value(definition(name), text))


class ParamStore(Protocol):
    async def load(self) -> dict[str, str]:
        """Every stored ``name: value``."""
        ...

    async def set(self, name: str, text: str) -> str:
        """Validate, then store; returns the stored text. A refused value writes nothing."""
        ...

    async def set_many(self, values: Mapping[str, str]) -> dict[str, str]:
        """Validate all, then store all in one transaction; returns the stored texts."""
        ...

    async def seed_defaults(self) -> list[str]:
        """Insert the default of every parameter that has no row; returns those names."""
        ...

    async def profiles(self) -> dict[str, dict[str, str]]:
        """``application_parameter_profiles``: profile name -> parameter values."""
        ...


class ConfigMirror:
    """The Valkey hash ``app:config`` (through a :class:`~trinity_beast.cache.base.Cache`)."""

    def __init__(self, cache: Cache, name: str = CONFIG_HASH) -> None:
        self.cache = cache
        self.name = name

    async def read(self) -> dict[str, str]:
        return await self.cache.hash_get_all(self.name)

    async def write(self, values: Mapping[str, str]) -> None:
        await self.cache.hash_replace(self.name, values)


async def apply_profile(store: ParamStore, name: str) -> dict[str, str]:
    """Write the values of profile ``name`` through the store (all or none); returns them."""
    profiles = await store.profiles()
    if name not in profiles:
        raise UnknownProfile(name, sorted(profiles))
    return await store.set_many(profiles[name])


async def publish_change(store: ParamStore, cache: Cache, names: list[str]) -> None:
    """After a database change: rewrite ``app:config`` and tell the nodes (shared cache only)."""
    if not cache.shared:
        return
    await ConfigMirror(cache).write(await store.load())
    await cache.publish(CHANGED_CHANNEL, ",".join(names))
