"""The Valkey side of the sync job: key names, high-water marks, error mapping, key scans.

Every name is logical and gets the deployment's prefix (``BEAST_REDIS_PREFIX``) through
:meth:`ValkeyCache.key`. High-water marks live in Valkey on purpose: they describe what Valkey
holds, so a flushed Valkey loses its marks too and the next run rebuilds everything.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import TypeVar

import msgspec
from redis.exceptions import RedisError

from trinity_beast.cache.base import CacheUnavailable
from trinity_beast.cache.valkey import ValkeyCache

T = TypeVar("T")

APIKEY = "apikey:"
"""``apikey:{key_hash}``: one hash per API key (never the key itself)."""
USAGE_INDEX = "usage_logs:index"
"""Sorted set: member = ``usage_logs.id``, score = ``created_at`` in epoch seconds."""
REPORT_USAGE = "report_usage:"
"""``report_usage:{api_key_id}``: sorted set of the key's ``report_usage_logs`` ids by time."""
HIGH_WATER = "sync:hwm:"
REBUILD = "sync:rebuild:"
"""Prefix of the keys a full run builds before renaming them into place."""
REBUILD_TTL_SECONDS = 3600
"""A rebuild key left behind by a run that died expires after this long."""

_GLOB = re.compile(r"([*?\[\]\\])")


class Mark(msgspec.Struct, frozen=True):
    """Where a part stopped: the time column and id of the newest row it synced."""

    at: datetime
    id: str


async def guarded(action: str, call: Awaitable[T]) -> T:
    """Await a Valkey call, mapping its failures to :class:`CacheUnavailable`."""
    try:
        return await call
    except (RedisError, OSError) as exc:
        raise CacheUnavailable(f"Valkey {action} failed: {exc}") from exc


async def read_mark(cache: ValkeyCache, part: str) -> Mark | None:
    fields = await guarded("HGETALL", cache.client.hgetall(cache.key(HIGH_WATER + part)))
    if "at" not in fields or "id" not in fields:
        return None
    return Mark(datetime.fromisoformat(str(fields["at"])), str(fields["id"]))


async def write_mark(cache: ValkeyCache, part: str, mark: Mark, mode: str,
                     now: datetime) -> None:
    mapping = {"at": mark.at.isoformat(), "id": mark.id, "mode": mode,
               "synced_at": now.isoformat()}
    await guarded("HSET", cache.client.hset(cache.key(HIGH_WATER + part),
                                            mapping=mapping))  # type: ignore[arg-type]


async def scan_names(cache: ValkeyCache, logical_prefix: str) -> AsyncIterator[str]:
    """The logical names (prefix removed) of every key starting with ``logical_prefix``."""
    pattern = _GLOB.sub(r"\\\1", cache.key(logical_prefix)) + "*"
    skip = len(cache.prefix)
    try:
        async for key in cache.client.scan_iter(match=pattern, count=1000):
            yield str(key)[skip:]
    except (RedisError, OSError) as exc:
        raise CacheUnavailable(f"Valkey SCAN failed: {exc}") from exc


def rebuild_name(token: str, name: str) -> str:
    """The logical name under which a full run builds ``name`` before renaming it."""
    return f"{REBUILD}{token}:{name}"
