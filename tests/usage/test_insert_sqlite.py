"""SQLite's usage writer: the row text of ``created_at`` is exactly what SQLAlchemy itself
stores, and the writer thread ends with its engine."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.dialects.sqlite import aiosqlite

from tests.usage.helpers import records
from trinity_beast.db.engine import create_engine, dispose_engine
from trinity_beast.db.keys import SqlKeyStore
from trinity_beast.db.migrate import upgrade
from trinity_beast.db.schema import usage_logs
from trinity_beast.usage.insert import insert_batch
from trinity_beast.usage.insert_sqlite import sqlite_time

_DIALECT = aiosqlite.dialect()
_SQLALCHEMY_TEXT = usage_logs.c.created_at.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)


@pytest.mark.parametrize("ts", [
    0.0, 1.0, 0.5, 1782000000.25, 1782000000.9999996, 1782000000.9999994, 1782000000.0000005,
    1782000000.0000015, 253402300799.5, -0.0000004,
    *(1782000000 + step * 0.0371 for step in range(100)),
])
def test_sqlite_time_is_the_text_sqlalchemy_stores(ts: float) -> None:
    assert _SQLALCHEMY_TEXT is not None
    expected = _SQLALCHEMY_TEXT(datetime.fromtimestamp(ts, UTC))
    assert sqlite_time(ts) == expected
    assert sqlite_time(ts) == expected  # from the per-second cache


async def test_the_writer_thread_ends_with_its_engine(tmp_path: Path) -> None:
    before = _writer_threads()  # other tests' engines may still have theirs
    engine = create_engine(f"sqlite:///{tmp_path / 'beast.db'}")
    await upgrade(engine)
    key = (await SqlKeyStore(engine).create("free"))[1].key_id
    assert await insert_batch(engine, records([key], 3)) == {key: 3}
    [mine] = _writer_threads() - before
    await dispose_engine(engine)
    assert not mine.is_alive()
    # The engine may be used again (SQLAlchemy makes a new pool): so is a new writer thread.
    assert await insert_batch(engine, records([key], 2)) == {key: 2}
    await dispose_engine(engine)


def _writer_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("usage-sqlite")}
