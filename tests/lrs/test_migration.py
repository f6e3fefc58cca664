"""Migration 0002 (the LRS rollup tables) on SQLite and PostgreSQL: up, no drift, down."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import create_engine
from trinity_beast.db.migrate import alembic_config, current_revision, upgrade
from trinity_beast.db.schema import metadata

LRS_TABLES = {"usage_daily", "usage_rollup_state"}


def _tables(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, metadata))


def _indexes(connection: Connection) -> dict[str | None, list[str | None]]:
    return {i["name"]: list(i["column_names"]) for i in sa.inspect(connection).get_indexes(
        "usage_daily")}


def downgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0001")


def _primary_key(connection: Connection) -> list[str]:
    return list(sa.inspect(connection).get_pk_constraint("usage_daily")["constrained_columns"])


async def test_0002_creates_the_rollup_tables_as_the_schema_says(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == "0002"
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) >= LRS_TABLES
        assert await conn.run_sync(_drift) == []
        assert await conn.run_sync(_indexes) == {"ix_usage_daily_day": ["day"]}
        assert await conn.run_sync(_primary_key) == [
            "api_key_id", "day", "asset", "source", "cache_tier", "status"]


async def test_0002_downgrades_to_0001(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            assert not LRS_TABLES & await conn.run_sync(_tables)
        assert await current_revision(engine) == "0001"
    finally:
        await engine.dispose()
