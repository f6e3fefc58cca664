"""PostgreSQL and Valkey for the benchmarks that need them: reachability, and a fresh schema.

Every benchmark works in a schema of its own, created empty and dropped (``CASCADE``) when it
ends, whatever happened, so runs never see each other's rows and leave nothing behind.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from tools import Skip

POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def require(name: str, port: int) -> None:
    """Raise :class:`Skip` unless something accepts connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return
    except OSError as exc:
        raise Skip(f"{name} is not reachable on 127.0.0.1:{port}") from exc


async def admin_sql(sql: str) -> None:
    """Run one statement on its own connection (outside any schema's search path)."""
    connection = await asyncpg.connect(POSTGRES)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A new empty schema ``<prefix>_<random>``: yields ``(schema, database URL using it)``
    and drops the schema with everything in it on the way out."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, f"{POSTGRES}?schema={schema}"
    finally:
        await admin_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
