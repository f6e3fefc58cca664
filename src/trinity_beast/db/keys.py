"""The SQL key store (PostgreSQL and SQLite): ``api_keys`` provisioned from ``rate_limit_template``.

Only the SHA-256 of a key is written; the plaintext exists in the return value of
:meth:`SqlKeyStore.create` and nowhere else. Every write sets ``updated_at``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trinity_beast.db.engine import begin, insert_ignoring_conflicts
from trinity_beast.db.schema import api_keys, rate_limit_template, users, utcnow
from trinity_beast.keys.hashing import demo_key_id, generate_key, hash_key, new_key_id
from trinity_beast.keys.model import KeyRecord, TierLimits
from trinity_beast.keys.store import UnknownKey, UnknownTier

DEMO_TIER = "demo"
_RECORD_FIELDS = KeyRecord.__struct_fields__


def _record(row: sa.Row[Any]) -> KeyRecord:
    mapping = row._mapping
    return KeyRecord(**{name: mapping[name] for name in _RECORD_FIELDS})


def _limits(row: sa.Row[Any]) -> TierLimits:
    mapping = row._mapping
    return TierLimits(**{name: mapping[name] for name in TierLimits.__struct_fields__})


def provisioned(limits: TierLimits) -> dict[str, Any]:
    """The ``api_keys`` columns a tier sets (the bucket starts full)."""
    return {
        "tier": limits.tier,
        "query_limit": limits.query_limit,
        "rate_limit_qps": limits.rate_limit_qps,
        "burst_limit": limits.burst_limit,
        "burst_tokens": float(limits.burst_limit or 0),
        "minimum_wait_seconds": limits.minimum_wait_seconds,
    }


class SqlKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._records = (
            sa.select(api_keys, users.c.email)
            .select_from(api_keys.outerjoin(users, api_keys.c.user_id == users.c.id))
        )

    async def tiers(self) -> dict[str, TierLimits]:
        async with begin(self.engine) as conn:
            rows = await conn.execute(sa.select(rate_limit_template))
            return {limits.tier: limits for limits in map(_limits, rows)}

    async def create(self, tier: str, *, email: str | None = None, name: str | None = None,
                     lrs: bool = False) -> tuple[str, KeyRecord]:
        plaintext = generate_key()
        async with begin(self.engine) as conn:
            limits = await self._template(conn, tier)
            user_id = await self._user_id(conn, email, tier) if email else None
            now = utcnow()
            await conn.execute(api_keys.insert().values(
                id=str(uuid.uuid4()), key_id=new_key_id(), key_hash=hash_key(plaintext),
                user_id=user_id, name=name, lrs_enabled=lrs, created_at=now, updated_at=now,
                **provisioned(limits),
            ))
            record = await self._fetch(conn, api_keys.c.key_hash == hash_key(plaintext))
        assert record is not None
        return plaintext, record

    async def get(self, key_id: str) -> KeyRecord | None:
        async with begin(self.engine) as conn:
            return await self._fetch(conn, api_keys.c.key_id == key_id)

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        async with begin(self.engine) as conn:
            return await self._fetch(conn, api_keys.c.key_hash == key_hash)

    async def load_all(self) -> list[KeyRecord]:
        async with begin(self.engine) as conn:
            rows = await conn.execute(self._records.order_by(api_keys.c.created_at,
                                                             api_keys.c.key_id))
            return [_record(row) for row in rows]

    async def changed_since(self, since: datetime) -> list[KeyRecord]:
        query = (self._records.where(api_keys.c.updated_at >= since)
                 .order_by(api_keys.c.updated_at, api_keys.c.key_id))
        async with begin(self.engine) as conn:
            return [_record(row) for row in await conn.execute(query)]

    async def revoke(self, key_id: str) -> KeyRecord:
        return await self._update(key_id, {"revoked": True})

    async def set_tier(self, key_id: str, tier: str) -> KeyRecord:
        return await self._update(key_id, {}, tier=tier)

    async def set_lrs(self, key_id: str, enabled: bool) -> KeyRecord:
        return await self._update(key_id, {"lrs_enabled": enabled})

    async def ensure_demo_key(self, plaintext: str) -> KeyRecord:
        key_hash = hash_key(plaintext)
        async with begin(self.engine) as conn:
            limits = await self._template(conn, DEMO_TIER)
            now = utcnow()
            # Several nodes may seed at once: the unique key_hash makes all but one a no-op.
            insert = insert_ignoring_conflicts(conn.dialect.name, api_keys, ["key_hash"])
            await conn.execute(insert.values(
                id=str(uuid.uuid4()), key_id=demo_key_id(plaintext), key_hash=key_hash,
                name="public demo key", created_at=now, updated_at=now, **provisioned(limits),
            ))
            record = await self._fetch(conn, api_keys.c.key_hash == key_hash)
        assert record is not None
        return record

    async def _update(self, key_id: str, values: Mapping[str, Any],
                      tier: str | None = None) -> KeyRecord:
        """Write ``values`` (and, with ``tier``, that tier's limits) to one key."""
        async with begin(self.engine) as conn:
            if tier is not None:
                values = {**values, **provisioned(await self._template(conn, tier))}
            result = await conn.execute(
                api_keys.update().where(api_keys.c.key_id == key_id)
                .values(**values, updated_at=utcnow()))
            if result.rowcount == 0:
                raise UnknownKey(key_id)
            record = await self._fetch(conn, api_keys.c.key_id == key_id)
        assert record is not None
        return record

    async def _fetch(self, conn: AsyncConnection,
                     where: sa.ColumnElement[bool]) -> KeyRecord | None:
        row = (await conn.execute(self._records.where(where))).first()
        return None if row is None else _record(row)

    async def _template(self, conn: AsyncConnection, tier: str) -> TierLimits:
        row = (await conn.execute(
            sa.select(rate_limit_template).where(rate_limit_template.c.tier == tier))).first()
        if row is None:
            known = await conn.scalars(
                sa.select(rate_limit_template.c.tier).order_by(rate_limit_template.c.tier))
            raise UnknownTier(tier, list(known))
        return _limits(row)

    async def _user_id(self, conn: AsyncConnection, email: str, tier: str) -> str:
        """The id of the user with ``email``, created on first use."""
        address = email.strip().lower()
        now = utcnow()
        await conn.execute(insert_ignoring_conflicts(conn.dialect.name, users, ["email"]).values(
            id=str(uuid.uuid4()), email=address, tier=tier, created_at=now, updated_at=now))
        user_id = await conn.scalar(sa.select(users.c.id).where(users.c.email == address))
        assert user_id is not None
        return str(user_id)
