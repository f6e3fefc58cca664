"""The SQL key store on SQLite and PostgreSQL: provisioning, lifecycle, and no plaintext at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.schema import api_keys, users
from trinity_beast.keys.hashing import demo_key_id, hash_key
from trinity_beast.keys.model import TIER_LIMITS
from trinity_beast.keys.store import UnknownKey, UnknownTier

DEMO_KEY = "demo-public-2026-03-01-abc123"


@pytest.fixture
def store(engine: AsyncEngine) -> SqlKeyStore:
    return SqlKeyStore(engine)


async def test_create_provisions_the_tier_and_returns_the_key_once(store: SqlKeyStore) -> None:
    key, record = await store.create("pro", name="ci")
    assert key.startswith("tbk_")
    assert len(key) == 47
    assert record.key_id.startswith("ak_live_")
    assert len(record.key_id) == 20
    assert record.key_hash == hash_key(key)
    assert (record.tier, record.query_limit, record.rate_limit_qps, record.burst_limit,
            record.burst_tokens, record.minimum_wait_seconds) == ("pro", 50000, 10.0, 20, 20.0, 0.1)
    assert (record.name, record.current_usage, record.revoked, record.lrs_enabled) == \
        ("ci", 0, False, False)
    assert (record.response_format, record.api_lang, record.user_id, record.email) == \
        ("tbc", "en", None, None)
    assert record.created_at == record.updated_at
    assert record.created_at.tzinfo is UTC


async def test_partner_keys_have_no_limits(store: SqlKeyStore) -> None:
    _, record = await store.create("partner", lrs=True)
    assert (record.query_limit, record.rate_limit_qps, record.burst_limit,
            record.minimum_wait_seconds, record.lrs_enabled) == (None, None, None, 0.0, True)


async def test_email_creates_one_user_per_address(store: SqlKeyStore,
                                                  engine: AsyncEngine) -> None:
    _, first = await store.create("free", email=" Donor@Example.org ")
    _, second = await store.create("pro", email="donor@example.org")
    assert first.user_id is not None
    assert first.user_id == second.user_id
    assert first.email == second.email == "donor@example.org"
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.select(users.c.email, users.c.tier))).all()
    assert [tuple(r) for r in rows] == [("donor@example.org", "free")]


async def test_the_plaintext_key_is_never_stored(store: SqlKeyStore, engine: AsyncEngine) -> None:
    key, _ = await store.create("enterprise", email="a@example.org", name="scan")
    async with engine.connect() as connection:
        for table in (api_keys, users):
            for row in await connection.execute(sa.select(table)):
                assert all(key not in str(value) for value in row), table.name
    assert not any("plain" in c.name or c.name == "api_key" for c in api_keys.columns)


async def test_get_by_key_id_and_by_hash(store: SqlKeyStore) -> None:
    key, record = await store.create("free")
    assert await store.get(record.key_id) == record
    assert await store.get_by_hash(hash_key(key)) == record
    assert await store.get("ak_live_000000000000") is None
    assert await store.get_by_hash(hash_key("not-a-key")) is None


async def test_load_all_lists_every_key_oldest_first(store: SqlKeyStore) -> None:
    created = [(await store.create(tier))[1] for tier in ("free", "pro", "lifetime")]
    await store.revoke(created[1].key_id)
    loaded = await store.load_all()
    assert [r.key_id for r in loaded] == [r.key_id for r in created]
    assert [r.revoked for r in loaded] == [False, True, False]


async def test_revoke_marks_the_key_and_bumps_updated_at(store: SqlKeyStore) -> None:
    _, record = await store.create("pro")
    revoked = await store.revoke(record.key_id)
    assert revoked.revoked is True
    assert revoked.updated_at > record.updated_at
    assert revoked.created_at == record.created_at


async def test_unknown_key_id_is_refused(store: SqlKeyStore) -> None:
    for change in (store.revoke("ak_live_nothere"), store.set_tier("ak_live_nothere", "pro"),
                   store.set_lrs("ak_live_nothere", True)):
        with pytest.raises(UnknownKey) as caught:
            await change
        assert str(caught.value) == "no API key with id 'ak_live_nothere'"


async def test_set_tier_re_provisions_the_limits(store: SqlKeyStore) -> None:
    _, record = await store.create("free")
    upgraded = await store.set_tier(record.key_id, "unlimited")
    limits = TIER_LIMITS["unlimited"]
    assert (upgraded.tier, upgraded.query_limit, upgraded.rate_limit_qps, upgraded.burst_limit,
            upgraded.burst_tokens, upgraded.minimum_wait_seconds) == (
        "unlimited", limits.query_limit, limits.rate_limit_qps, limits.burst_limit, 200.0,
        limits.minimum_wait_seconds)


async def test_unknown_tier_is_refused_with_the_known_ones(store: SqlKeyStore) -> None:
    _, record = await store.create("free")
    expected = ("unknown tier 'gold'; known tiers: demo, enterprise, free, lifetime, partner, "
                "pro, unlimited")
    with pytest.raises(UnknownTier) as caught:
        await store.set_tier(record.key_id, "gold")
    assert str(caught.value) == expected
    with pytest.raises(UnknownTier):
        await store.create("gold")
    assert await store.get(record.key_id) == record
    assert len(await store.load_all()) == 1


async def test_set_lrs_toggles_the_add_on(store: SqlKeyStore) -> None:
    _, record = await store.create("pro")
    assert (await store.set_lrs(record.key_id, True)).lrs_enabled is True
    assert (await store.set_lrs(record.key_id, False)).lrs_enabled is False


async def test_changed_since_returns_the_changed_keys_in_order(store: SqlKeyStore) -> None:
    _, old = await store.create("free")
    _, other = await store.create("pro")
    mark = other.updated_at + timedelta(microseconds=1)
    assert await store.changed_since(mark) == []
    revoked = await store.revoke(old.key_id)
    assert await store.changed_since(mark) == [revoked]
    assert [r.key_id for r in await store.changed_since(datetime(2000, 1, 1, tzinfo=UTC))] == [
        other.key_id, old.key_id]


async def test_demo_key_seeding_is_idempotent(store: SqlKeyStore) -> None:
    first = await store.ensure_demo_key(DEMO_KEY)
    second = await store.ensure_demo_key(DEMO_KEY)
    assert first == second
    assert first.key_id == demo_key_id(DEMO_KEY) == "ak_demo_" + hash_key(DEMO_KEY)[:12]
    assert (first.tier, first.query_limit, first.rate_limit_qps, first.burst_limit,
            first.minimum_wait_seconds) == ("demo", None, 3.0, 3, 0.0)
    assert len(await store.load_all()) == 1


async def test_tiers_reads_the_template(store: SqlKeyStore) -> None:
    assert await store.tiers() == TIER_LIMITS
