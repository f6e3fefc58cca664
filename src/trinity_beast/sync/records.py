"""API-key records (``apikey:{key_hash}``) and parameters (``app:config``) into Valkey.

A key's hash holds the fields of :class:`~trinity_beast.keys.model.KeyRecord` in text form,
except ``key_hash`` (it is the name) and ``email`` (personal data no reader needs); a NULL column
is an absent field, booleans are ``true``/``false``, times RFC 3339. The name is the SHA-256 of
the key by design: the plaintext is never stored anywhere, so a Valkey copy cannot leak keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.keys.model import KeyRecord
from trinity_beast.keys.store import KeyStore
from trinity_beast.params.store import ConfigMirror, ParamStore
from trinity_beast.sync.report import Mode, PartReport
from trinity_beast.sync.target import APIKEY, Mark, guarded, read_mark, scan_names, write_mark

KEYS_PART = "api_keys"
KEY_CHUNK = 500
"""Keys written per MULTI."""
LATE_KEYS = timedelta(minutes=5)
"""``updated_at`` is the writing transaction's start on PostgreSQL, so a key written by a long
transaction can commit with a time just before the mark: incremental runs look back this far."""
_HIDDEN = frozenset({"key_hash", "email"})


def key_fields(record: KeyRecord) -> dict[str, str]:
    """The ``apikey:{key_hash}`` hash of ``record``."""
    fields: dict[str, str] = {}
    for name, value in msgspec.structs.asdict(record).items():
        if name in _HIDDEN or value is None:
            continue
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            fields[name] = value.isoformat()
        else:
            fields[name] = str(value)
    return fields


async def write_keys(cache: ValkeyCache, records: Iterable[KeyRecord]) -> int:
    """Replace the hash of every record (DEL + HSET in MULTI chunks); returns how many."""
    batch = list(records)
    for start in range(0, len(batch), KEY_CHUNK):
        async with cache.client.pipeline(transaction=True) as pipe:
            for record in batch[start:start + KEY_CHUNK]:
                key = cache.key(APIKEY + record.key_hash)
                pipe.delete(key)
                pipe.hset(key, mapping=key_fields(record))  # type: ignore[arg-type]
            await guarded("MULTI HSET", pipe.execute())
    return len(batch)


async def sync_api_keys(cache: ValkeyCache, store: KeyStore, *, full: bool,
                        now: datetime) -> PartReport:
    started = time.perf_counter()
    mark = None if full else await read_mark(cache, KEYS_PART)
    if mark is None:
        records = await store.load_all()
        removed = await _remove_stale(cache, {record.key_hash for record in records})
    else:
        records = await store.changed_since(mark.at - LATE_KEYS)
        removed = 0
    written = await write_keys(cache, records)
    mode: Mode = "incremental" if mark is not None else "full"
    newest = max(records, key=lambda record: (record.updated_at, record.key_id), default=None)
    if newest is not None and (mark is None or newest.updated_at >= mark.at):
        await write_mark(cache, KEYS_PART, Mark(newest.updated_at, newest.key_id), mode, now)
    summary = f"{mode}, {written} keys" + (f", {removed} removed" if removed else "")
    return PartReport(name="api keys", mode=mode, count=written, summary=summary,
                      seconds=time.perf_counter() - started)


async def _remove_stale(cache: ValkeyCache, hashes: set[str]) -> int:
    """Delete the ``apikey:*`` hashes of keys the database no longer has."""
    stale = [name async for name in scan_names(cache, APIKEY)
             if name[len(APIKEY):] not in hashes]
    if stale:
        await guarded("DEL", cache.client.delete(*[cache.key(name) for name in stale]))
    return len(stale)


async def sync_parameters(cache: ValkeyCache, store: ParamStore) -> PartReport:
    """Rewrite ``app:config`` from the database (always whole: it is small)."""
    started = time.perf_counter()
    values = await store.load()
    await ConfigMirror(cache).write(values)
    return PartReport(name="parameters", mode="full", count=len(values),
                      summary=f"{len(values)} values in app:config",
                      seconds=time.perf_counter() - started)
