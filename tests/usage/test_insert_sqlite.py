"""The SQLite row text of ``created_at``: exactly what SQLAlchemy itself stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects.sqlite import aiosqlite

from trinity_beast.db.schema import usage_logs
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
