"""Migrations from empty on SQLite and PostgreSQL: every table, the exact seed rows, no drift."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import create_engine
from trinity_beast.db.migrate import current_revision, head_revision, upgrade, upgrade_sql
from trinity_beast.db.schema import application_parameter_profiles, metadata, rate_limit_template
from trinity_beast.keys.model import TIER_LIMITS
from trinity_beast.params.definitions import PROFILES

TABLES = {
    "users", "api_keys", "rate_limit_template", "usage_logs", "transactions",
    "application_parameters", "application_parameter_profiles", "exchange_asset_map",
    "report_parameters", "report_count", "monthly_report_counts", "report_usage_logs",
    "webhook_subscriptions", "support_tickets", "demo_leads", "newsletter_subscribers",
    "usage_daily", "usage_rollup_state",  # 0002: the LRS daily rollup (docs/lrs.md)
}
HEAD = "0002"

# API.md §3.1, exactly, plus our demo tier (docs/data-layer.md).
TEMPLATE_ROWS = {
    ("free", 1000, 1.0, 5, 1.0, False),
    ("pro", 50000, 10.0, 20, 0.1, False),
    ("enterprise", 500000, 50.0, 100, 0.02, False),
    ("unlimited", None, 100.0, 200, 0.01, True),
    ("lifetime", None, 100.0, 200, 0.01, True),
    ("partner", None, None, None, 0.0, True),
    ("demo", None, 3.0, 3, 0.0, False),
}


def _table_names(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_from_empty_create_every_table(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == set()
        assert await current_revision(engine) is None
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == TABLES | {"alembic_version"}
        assert await current_revision(engine) == head_revision() == HEAD
    finally:
        await engine.dispose()


def test_schema_names_every_table_the_system_needs() -> None:
    assert set(metadata.tables) == TABLES


async def test_migrated_database_equals_the_schema_module(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_drift) == []


async def test_rate_limit_template_rows_are_exact(engine: AsyncEngine) -> None:
    t = rate_limit_template
    query = sa.select(t.c.tier, t.c.query_limit, t.c.rate_limit_qps, t.c.burst_limit,
                      t.c.minimum_wait_seconds, t.c.reports_unlimited)
    async with engine.connect() as connection:
        rows = {tuple(row) for row in await connection.execute(query)}
    assert rows == TEMPLATE_ROWS
    assert {(x.tier, x.query_limit, x.rate_limit_qps, x.burst_limit, x.minimum_wait_seconds,
             x.reports_unlimited) for x in TIER_LIMITS.values()} == TEMPLATE_ROWS


async def test_profile_rows_equal_the_definitions(engine: AsyncEngine) -> None:
    p = application_parameter_profiles
    async with engine.connect() as connection:
        rows = (await connection.execute(
            sa.select(p.c.profile_name, p.c.qps, p.c.burst, p.c.log_level))).all()
    assert {name: (qps, burst, level) for name, qps, burst, level in rows} == {
        name: (float(v["qps"]), int(v["burst"]), v["log_level"]) for name, v in PROFILES.items()
    }
    assert set(PROFILES) == {"demo", "performance", "debug"}


async def test_upgrade_again_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(rate_limit_template))
    assert count == len(TEMPLATE_ROWS)
    assert await current_revision(engine) == HEAD


@pytest.mark.parametrize(("url", "boolean_true"), [
    ("sqlite:///var/beast.db", "1);"),
    ("postgresql://user@db.example/beast", "true);"),
])
def test_offline_sql_is_written_for_the_dialect(url: str, boolean_true: str) -> None:
    out = io.StringIO()
    upgrade_sql(url, out)
    sql = out.getvalue()
    assert "CREATE TABLE api_keys (" in sql
    assert "CREATE INDEX ix_usage_logs_api_key_id_created_at_id ON usage_logs" in sql
    assert f"VALUES ('unlimited', NULL, 100.0, 200, 0.01, {boolean_true}" in sql
    assert "UPDATE alembic_version SET version_num='0002'" in sql
