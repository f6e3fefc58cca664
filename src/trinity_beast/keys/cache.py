"""The in-memory key cache of the request hot path: a presented key is one hash and one dict get.

The cache is filled from the key store at start (:meth:`KeyCache.refresh_all`), kept current by
the sync job (:meth:`KeyCache.refresh_changed`) and by invalidations (:meth:`KeyCache.invalidate`,
or :meth:`KeyCache.follow` for those published on ``keys:invalidate``), which each fetch one
record. None of this runs on the request path.

The dict is keyed by the SHA-256 of the key, so the time a lookup takes depends on digests, not
on the key: it tells an attacker nothing that helps forge a key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from trinity_beast.cache.base import Subscription
from trinity_beast.db.engine import DatabaseUnavailable
from trinity_beast.keys.hashing import hash_key
from trinity_beast.keys.model import KeyRecord
from trinity_beast.keys.store import KeyStore

log = logging.getLogger(__name__)

INVALIDATE_CHANNEL = "keys:invalidate"
"""Cache channel on which a changed key's ``key_id`` is published; nodes then :meth:`invalidate`."""


class KeyCache:
    def __init__(self) -> None:
        self._by_hash: dict[str, KeyRecord] = {}
        self._hash_by_key_id: dict[str, str] = {}
        self.high_water: datetime | None = None
        """The newest ``updated_at`` seen: where the next incremental refresh starts."""

    def __len__(self) -> int:
        return len(self._by_hash)

    def lookup(self, presented: str) -> KeyRecord | None:
        """The record of a presented key (revoked ones too: the caller says "revoked")."""
        return self._by_hash.get(hash_key(presented))

    def get(self, key_id: str) -> KeyRecord | None:
        key_hash = self._hash_by_key_id.get(key_id)
        return None if key_hash is None else self._by_hash.get(key_hash)

    def put(self, record: KeyRecord) -> None:
        """Add or replace the record of ``record.key_id``."""
        old_hash = self._hash_by_key_id.get(record.key_id)
        if old_hash is not None and old_hash != record.key_hash:
            del self._by_hash[old_hash]
        self._by_hash[record.key_hash] = record
        self._hash_by_key_id[record.key_id] = record.key_hash
        self._advance(record.updated_at)

    def remove(self, key_id: str) -> bool:
        key_hash = self._hash_by_key_id.pop(key_id, None)
        if key_hash is None:
            return False
        del self._by_hash[key_hash]
        return True

    def replace_all(self, records: Iterable[KeyRecord]) -> None:
        """Swap in a complete set (built aside, so readers never see a half-filled cache)."""
        by_hash = {r.key_hash: r for r in records}
        self._hash_by_key_id = {r.key_id: h for h, r in by_hash.items()}
        self._by_hash = by_hash
        self.high_water = max((r.updated_at for r in by_hash.values()), default=None)

    async def refresh_all(self, store: KeyStore) -> int:
        self.replace_all(await store.load_all())
        return len(self)

    async def refresh_changed(self, store: KeyStore) -> int:
        """Apply the keys changed since :attr:`high_water`; returns how many were applied."""
        if self.high_water is None:
            return await self.refresh_all(store)
        changed = await store.changed_since(self.high_water)
        for record in changed:
            self.put(record)
        return len(changed)

    async def invalidate(self, store: KeyStore, key_id_or_key: str) -> KeyRecord | None:
        """Re-read one key from the store (by key id or by the key itself) and cache the result.

        Returns the fresh record, or ``None`` when the store has no such key (any cached entry
        is dropped then).
        """
        record = await store.get(key_id_or_key)
        if record is None:
            key_hash = hash_key(key_id_or_key)
            record = await store.get_by_hash(key_hash)
            if record is None:
                cached = self._by_hash.get(key_hash)
                self.remove(cached.key_id if cached else key_id_or_key)
                return None
        self.put(record)
        return record

    async def follow(self, store: KeyStore, subscription: Subscription) -> None:
        """Invalidate every key id received (``keys:invalidate``); runs until cancelled.

        A key the database cannot deliver now stays as cached; the sync job catches up.
        """
        async for key_id in subscription:
            try:
                await self.invalidate(store, key_id)
            except DatabaseUnavailable as exc:
                log.warning("key %s not re-read: %s", key_id, exc)

    def _advance(self, updated_at: datetime) -> None:
        if self.high_water is None or updated_at > self.high_water:
            self.high_water = updated_at
