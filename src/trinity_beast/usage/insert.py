"""One usage batch into the database, in one transaction: every row inserted at most once (the
record id is the primary key) and ``api_keys.current_usage`` advanced by the rows actually
inserted, so a batch delivered twice changes nothing the second time.

PostgreSQL: ``COPY`` (asyncpg, binary) into a per-connection temporary staging table, then one
statement that inserts the staged rows ``ON CONFLICT (id) DO NOTHING``, counts the inserted ones
per key and adds the counts to ``current_usage``. SQLite: :mod:`~.insert_sqlite`, the whole
batch in a writer thread of its own. ``created_at`` is the record's epoch seconds as a UTC
timestamp.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from trinity_beast.db.engine import begin
from trinity_beast.usage.insert_sqlite import sqlite_inserter
from trinity_beast.usage.record import COLUMNS, UsageRecord

STAGING = "usage_logs_staging"

_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} "
    "(LIKE usage_logs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_COLUMN_LIST = ", ".join(COLUMNS)
_INSERT_STAGED = f"""
WITH inserted AS (
    INSERT INTO usage_logs ({_COLUMN_LIST})
    SELECT {_COLUMN_LIST} FROM {STAGING}
    ON CONFLICT (id) DO NOTHING
    RETURNING api_key_id
), per_key AS (
    SELECT api_key_id, count(*) AS n FROM inserted GROUP BY api_key_id
), advanced AS (
    UPDATE api_keys SET current_usage = api_keys.current_usage + per_key.n, updated_at = now()
    FROM per_key WHERE api_keys.key_id = per_key.api_key_id
)
SELECT api_key_id, n FROM per_key
"""  # noqa: S608 - made of constant names only, no value is formatted in


def _row(record: UsageRecord) -> tuple[Any, ...]:
    return (record.id, record.api_key_id, record.asset, record.assets_count, record.source,
            record.cache_tier, record.response_time_us, record.status, record.endpoint,
            record.protocol, record.node, datetime.fromtimestamp(record.created_at, UTC))


async def insert_batch(engine: AsyncEngine, records: list[UsageRecord]) -> Counter[str]:
    """Insert ``records`` (distinct ids) and advance ``current_usage``; returns the rows
    inserted per ``api_key_id`` (records already present are not counted)."""
    if engine.dialect.name == "sqlite":
        return await sqlite_inserter(engine).insert(records)
    async with begin(engine) as conn:
        return await _insert_postgres(conn, records)


async def _insert_postgres(conn: AsyncConnection, records: list[UsageRecord]) -> Counter[str]:
    # The SQLAlchemy statement starts the transaction; COPY then runs inside it on the same
    # asyncpg connection, and ``begin`` commits (emptying the staging table) or rolls back.
    await conn.exec_driver_sql(_CREATE_STAGING)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(STAGING, records=map(_row, records), columns=COLUMNS)
    result = await conn.exec_driver_sql(_INSERT_STAGED)
    return Counter({str(row["api_key_id"]): int(row["n"]) for row in result.mappings()})
