"""Alembic environment: the same migrations on PostgreSQL (asyncpg) and SQLite (aiosqlite).

Migrations run through :mod:`trinity_beast.db.migrate` (``beast migrate``), which hands Alembic a
connection of our engine (so ``?schema=`` and the SQLite pragmas apply), or offline
(``beast migrate --sql``) to print the SQL for a database administrator.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from trinity_beast.db.engine import async_url
from trinity_beast.db.schema import metadata


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them; batch mode lets later migrations do so.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline(url: str) -> None:
    context.configure(
        url=async_url(url)[0],
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        _run_offline(config.get_main_option("sqlalchemy.url") or "")
        return
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `beast migrate` (it provides the connection)")
    _run_online(connection)


_main()
