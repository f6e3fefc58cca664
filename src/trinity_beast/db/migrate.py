"""Run the Alembic migrations programmatically (no alembic.ini: works from an installed package).

On PostgreSQL the upgrade holds a transaction-scoped advisory lock, so several nodes starting
at once migrate one after the other instead of racing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import begin

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x7B_EA57_0001
"""``pg_advisory_xact_lock`` key of migrations (any fixed 64-bit number)."""


def alembic_config(url: str | None = None, output: TextIO | None = None) -> Config:
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current(connection: Connection) -> str | None:
    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    return revision


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (all migrations run in one transaction)."""
    async with begin(engine) as connection:
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with begin(engine) as connection:
        return await connection.run_sync(_current)


def upgrade_sql(url: str, output: TextIO, revision: str = "head") -> None:
    """Write the SQL of the upgrade for ``url``'s database kind to ``output`` (nothing runs)."""
    command.upgrade(alembic_config(url, output), revision, sql=True)
