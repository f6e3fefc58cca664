"""The database stops and comes back under a running node: no record is lost or counted twice.

The node reaches the real PostgreSQL through a loopback TCP gate. Closing the gate is what the
driver sees when the server stops: pooled connections are cut, new ones refused. Records
submitted meanwhile are spooled (fsynced on disk); when the gate opens again the recovery loop
replays them and ``current_usage`` ends exactly right. Run in both modes: embedded (direct
hand-off) and through the Valkey stream (the consumer spools and acknowledges).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REDIS_URL
from tests.db.backends import drop_schema, fresh_postgres_url
from tests.usage.helpers import (
    delete_prefixed,
    per_key,
    records,
    small_batches,
    stored_ids,
    usage_by_key,
    wait_until,
)
from tests.usage.tcp_gate import TcpGate
from trinity_beast.cache.valkey import redis_client
from trinity_beast.db.engine import create_engine
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import upgrade
from trinity_beast.params.values import Parameters
from trinity_beast.settings import Settings
from trinity_beast.usage.pipeline import UsageTuning, build_usage_pipeline


class GatedDatabase:
    def __init__(self, direct: AsyncEngine, gated: AsyncEngine, gate: TcpGate) -> None:
        self.direct = direct
        self.gated = gated
        self.gate = gate


@pytest.fixture
async def database(postgres_available: None) -> AsyncIterator[GatedDatabase]:
    """A migrated fresh schema, reachable directly and through a gate."""
    url, schema = await fresh_postgres_url()
    direct = create_engine(url)
    parsed = make_url(url)
    gate = TcpGate(parsed.host or "127.0.0.1", parsed.port or 5432)
    await gate.open()
    gated_url = parsed.set(host="127.0.0.1", port=gate.port)
    gated = create_engine(gated_url.render_as_string(hide_password=False))
    try:
        await upgrade(direct)
        yield GatedDatabase(direct, gated, gate)
    finally:
        await gate.close()
        await gated.dispose()
        await direct.dispose()
        await drop_schema(schema)


@pytest.fixture(params=["embedded", "stream"])
async def valkey(request: pytest.FixtureRequest,
                 redis_prefix: str) -> AsyncIterator[tuple[Redis | None, str]]:
    """No Valkey (embedded), or the real Redis and a unique prefix (cleaned up after)."""
    if request.param == "embedded":
        yield None, ""
        return
    request.getfixturevalue("redis_available")
    client = redis_client(REDIS_URL, Parameters())
    yield client, redis_prefix
    await delete_prefixed(client, redis_prefix)
    await client.aclose()


async def test_database_stopped_and_restarted_loses_nothing(
        database: GatedDatabase, valkey: tuple[Redis | None, str], tmp_path: Path) -> None:
    redis, prefix = valkey
    store = SqlKeyStore(database.direct)
    key_ids = [(await store.create("free"))[1].key_id for _ in range(3)]
    settings = Settings(database_url=str(database.gated.url), redis_prefix=prefix,
                        var_dir=tmp_path)
    node = build_usage_pipeline(settings, small_batches(), database.gated, redis, "node-a",
                                UsageTuning(retry_max_seconds=0.5))
    before, during, after = records(key_ids, 50), records(key_ids, 80), records(key_ids, 20)
    await node.start()
    try:
        for record in before:
            node.sink.submit(record)
        await wait_until(lambda: node.written == 50, "written while the database is up")

        await database.gate.close()  # the database stops
        for record in during:
            node.sink.submit(record)
        await wait_until(lambda: node.spooled == 80, "spooled while the database is down")
        assert node.writer.outage

        await database.gate.open()  # and comes back
        await wait_until(lambda: node.replayed == 80, "the spool replayed")
        for record in after:
            node.sink.submit(record)
        await wait_until(lambda: node.written == 150, "written after the restart")
    finally:
        await node.stop()
    everything = before + during + after
    assert sorted(await stored_ids(database.direct)) == sorted(r.id for r in everything)
    assert await usage_by_key(database.direct) == per_key(everything)
    assert (node.submitted, node.written, node.duplicates, node.dropped) == (150, 150, 0, 0)
    assert node.spool.pending() == []
