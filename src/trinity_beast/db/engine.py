"""Engine construction from ``DATABASE_URL`` and the mapping of driver errors to ours.

``postgresql://`` becomes ``postgresql+asyncpg://`` and ``sqlite:///`` ``sqlite+aiosqlite:///``.
A PostgreSQL URL may carry ``?schema=NAME``: every connection then runs with
``search_path=NAME`` (tests use one fresh schema per run). SQLite runs in WAL mode with a busy
timeout, so the server and a ``beast`` command can use the file together.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, Table, event, make_url
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or refused the connection."""


class DatabaseUrlError(ValueError):
    """A ``DATABASE_URL`` this program cannot use."""


def async_url(url: str | URL) -> tuple[URL, str | None]:
    """The asyncio-driver URL of ``url`` and the schema named by its ``schema`` parameter."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        schema = parsed.query.get("schema")
        if isinstance(schema, tuple):
            raise DatabaseUrlError("DATABASE_URL: give ?schema= once")
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise DatabaseUrlError(f"DATABASE_URL: {schema!r} is not a schema name")
        return parsed.difference_update_query(["schema"]).set(
            drivername="postgresql+asyncpg"), schema
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite"), None
    raise DatabaseUrlError(
        f"DATABASE_URL must start with postgresql:// or sqlite:///, got {backend}://")


def redacted(url: str | URL) -> str:
    """The URL with its password shown as ``***`` (for messages and ``beast config show``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is not echoed at all
        return "<unparsable URL>"


def create_engine(url: str | URL, params: Parameters | None = None) -> AsyncEngine:
    """An engine for ``url`` with the pool sized by ``db_max_open_conns``/``db_max_idle_conns``."""
    params = params or Parameters()
    target, schema = async_url(url)
    idle = params.get_int("db_max_idle_conns")
    open_max = max(params.get_int("db_max_open_conns"), idle, 1)
    options: dict[str, Any] = {"pool_size": max(idle, 1), "max_overflow": open_max - max(idle, 1)}
    if target.get_backend_name() == "sqlite":
        if _in_memory(target):
            options = {}  # one shared connection (StaticPool) takes no pool sizes
        else:
            Path(target.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if schema is not None:
        options["connect_args"] = {"server_settings": {"search_path": schema}}
    return create_async_engine(target, pool_pre_ping=True, **options)


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in {"", ":memory:"} or url.query.get("mode") == "memory"


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_SQLITE_STATEMENT_ERRORS = ("no such ", "syntax error", "table ", "near ")
"""Starts of SQLite OperationalError messages that mean a wrong statement, not an outage."""


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError) and str(exc.orig).startswith(_SQLITE_STATEMENT_ERRORS):
        return False
    if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
        return True
    return type(exc) is DBAPIError  # what asyncpg's connect errors (unknown database, …) become


def _describe(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).splitlines()[0]


def _missing_table(exc: BaseException) -> bool:
    original = getattr(exc, "orig", None)
    return (getattr(original, "sqlstate", None) == "42P01"  # PostgreSQL undefined_table
            or str(original).startswith("no such table"))


@asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction (committed on success) with errors mapped to ours."""
    try:
        async with engine.begin() as connection:
            yield connection
    except Exception as exc:
        unavailable = database_unavailable(engine.url, exc)
        if unavailable is not None:
            raise unavailable from exc
        raise


def database_unavailable(url: URL, exc: BaseException) -> DatabaseUnavailable | None:
    """Our :class:`DatabaseUnavailable` for a driver error that means "not now" (down, or
    not migrated); ``None`` for an error of the statement or its rows."""
    where = redacted(url)
    if _missing_table(exc):
        return DatabaseUnavailable(
            f"database {where} is not migrated ({_describe(exc)}); run: beast migrate")
    if _unavailable(exc):
        return DatabaseUnavailable(f"database {where} is unavailable: {_describe(exc)}")
    return None


_CLOSERS: weakref.WeakKeyDictionary[AsyncEngine, list[Callable[[], Awaitable[None]]]] = (
    weakref.WeakKeyDictionary())


def on_dispose(engine: AsyncEngine, closer: Callable[[], Awaitable[None]]) -> None:
    """Have :func:`dispose_engine` await ``closer()`` before it disposes ``engine`` (for what
    lives beside an engine: a writer thread and its own connection)."""
    _CLOSERS.setdefault(engine, []).append(closer)


async def dispose_engine(engine: AsyncEngine) -> None:
    """Close what was registered with :func:`on_dispose`, then dispose ``engine``'s pool."""
    for closer in _CLOSERS.pop(engine, []):
        try:
            await closer()
        except Exception:
            log.exception("closing what belongs to the engine of %s failed", redacted(engine.url))
    await engine.dispose()


def sqlite_sync_engine(engine: AsyncEngine) -> Engine:
    """A synchronous engine (``sqlite3``) on the same SQLite file as ``engine``, with the same
    pragmas, for work that runs whole in a thread of its own."""
    sync = sa_create_engine(engine.url.set(drivername="sqlite"), pool_size=1, max_overflow=0)
    event.listen(sync, "connect", _sqlite_pragmas)
    return sync


def insert_ignoring_conflicts(dialect: str, table: Table, keys: Sequence[str]) -> Insert:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` for PostgreSQL and SQLite."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))


def upsert(dialect: str, table: Table, keys: Sequence[str], update: Sequence[str]) -> Insert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET`` the ``update`` columns from the new row."""
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(
            index_elements=list(keys), set_={c: pg.excluded[c] for c in update})
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(
        index_elements=list(keys), set_={c: lite.excluded[c] for c in update})
