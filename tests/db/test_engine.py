"""DATABASE_URL handling, engine options, and the mapping of connection failures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.backends import drop_schema, fresh_postgres_url
from trinity_beast.db.engine import (
    DatabaseUnavailable,
    DatabaseUrlError,
    async_url,
    begin,
    create_engine,
    dispose_engine,
    on_dispose,
    redacted,
)
from trinity_beast.params.values import Parameters


@pytest.mark.parametrize(("url", "expected", "schema"), [
    ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d", None),
    ("postgres://u@h/d", "postgresql+asyncpg://u@h/d", None),
    ("postgresql+asyncpg://u@h/d?schema=run_1", "postgresql+asyncpg://u@h/d", "run_1"),
    ("sqlite:///var/beast.db", "sqlite+aiosqlite:///var/beast.db", None),
    ("sqlite:////abs/beast.db", "sqlite+aiosqlite:////abs/beast.db", None),
])
def test_urls_map_to_the_asyncio_drivers(url: str, expected: str, schema: str | None) -> None:
    target, found_schema = async_url(url)
    assert target.render_as_string(hide_password=False) == expected
    assert found_schema == schema


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://u@h/d", "DATABASE_URL must start with postgresql:// or sqlite:///, got mysql://"),
    ("postgresql://u@h/d?schema=a;drop", "DATABASE_URL: 'a;drop' is not a schema name"),
])
def test_unusable_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        async_url(url)
    assert str(caught.value) == message


def test_redacted_hides_the_password() -> None:
    assert redacted("postgresql://beast:s3cret@db:5432/tb") == "postgresql://beast:***@db:5432/tb"
    assert redacted("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"


def test_pool_follows_the_db_conns_parameters() -> None:
    params = Parameters({"db_max_open_conns": "40", "db_max_idle_conns": "10"})
    engine = create_engine("postgresql://u@127.0.0.1/d", params)
    pool = engine.sync_engine.pool
    assert pool.size() == 10  # type: ignore[attr-defined]
    assert pool._max_overflow == 30  # type: ignore[attr-defined]


async def test_sqlite_file_gets_its_directory_and_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "beast.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with begin(engine) as connection:
            mode = await connection.scalar(sa.text("PRAGMA journal_mode"))
            timeout = await connection.scalar(sa.text("PRAGMA busy_timeout"))
            foreign_keys = await connection.scalar(sa.text("PRAGMA foreign_keys"))
        assert (mode, timeout, foreign_keys) == ("wal", 5000, 1)
        assert path.exists()
    finally:
        await engine.dispose()


async def test_schema_parameter_sets_the_search_path(postgres_available: None) -> None:
    url, schema = await fresh_postgres_url()
    engine = create_engine(url)
    try:
        async with begin(engine) as connection:
            assert await connection.scalar(sa.text("SELECT current_schema()")) == schema
    finally:
        await engine.dispose()
        await drop_schema(schema)


async def test_unreachable_database_is_reported_as_unavailable() -> None:
    engine = create_engine("postgresql://postgres:pw@127.0.0.1:1/test")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with begin(engine) as connection:
                await connection.execute(sa.text("SELECT 1"))
        assert str(caught.value).startswith(
            "database postgresql+asyncpg://postgres:***@127.0.0.1:1/test is unavailable: ")
    finally:
        await engine.dispose()


async def test_an_unmigrated_database_says_what_to_do(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with begin(engine) as connection:
                await connection.execute(sa.text("SELECT key_id FROM api_keys"))
        message = str(caught.value)
        assert message.endswith("; run: beast migrate")
        assert ("(no such table: api_keys)" in message
                or '(relation "api_keys" does not exist)' in message)
    finally:
        await engine.dispose()


async def test_dispose_engine_closes_what_was_registered_first(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'beast.db'}")
    closed: list[str] = []

    async def close_a() -> None:
        closed.append("a")

    async def fail() -> None:
        raise RuntimeError("boom")

    on_dispose(engine, close_a)
    on_dispose(engine, fail)
    with caplog.at_level(logging.ERROR, logger="trinity_beast.db.engine"):
        await dispose_engine(engine)  # a failing closer is logged, the rest still runs
    assert closed == ["a"]
    assert "failed" in caplog.text
    await dispose_engine(engine)  # closers run once
    assert closed == ["a"]
