"""The shared cache (Valkey/Redis) behind one small interface, with an in-process stand-in.

:func:`trinity_beast.cache.factory.open_cache` picks the implementation: Valkey when
``REDIS_URL`` is set, otherwise :class:`~trinity_beast.cache.memory.MemoryCache`.
"""
