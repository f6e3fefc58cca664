"""Choose the cache from the settings: Valkey when ``REDIS_URL`` is set, else in-process."""

from __future__ import annotations

from trinity_beast.cache.base import Cache
from trinity_beast.cache.memory import MemoryCache
from trinity_beast.cache.valkey import ValkeyCache, redis_client
from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings


def open_cache(settings: Settings, params: Parameters) -> Cache:
    if settings.redis_url:
        return ValkeyCache(redis_client(settings.redis_url, params), settings.redis_prefix)
    return MemoryCache()
