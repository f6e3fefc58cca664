"""Usage batches into SQLite, each whole in one writer thread.

Through the asyncio driver every statement of a batch (look-up, insert, update, commit) is a
round trip between the event loop and the driver's thread, and a loop busy with requests
serves each one late: under full load the writer fell to about 2,000 rows a second and the
buffer overflowed. Here a batch is one hand-off: a thread of its own with a plain ``sqlite3``
connection (same file, same pragmas) runs the whole transaction and returns the counts.

A batch whose caller stops waiting (a drain cut short, a write timeout) still finishes in the
thread: its records, spooled by the caller, come back as duplicates when the spool is replayed.
Nothing is lost or counted twice; only ``written`` counts such rows as ``duplicates``.

Rows go in as multi-row ``INSERT … VALUES (…), (…) … ON CONFLICT (id) DO NOTHING RETURNING
api_key_id`` statements of up to :data:`ROWS_PER_STATEMENT` rows: SQLite returns exactly the
rows it inserted, so the per-key counts need no look-up of stored ids, and one statement per
few hundred rows keeps the driver's per-row work (and the GIL hand-offs around each step of an
``executemany``) off the server's core: the writer thread took about 30 % of the core under
full load with a look-up and ``executemany``.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from msgspec.structs import astuple
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import database_unavailable, on_dispose, sqlite_sync_engine
from trinity_beast.db.schema import api_keys, utcnow
from trinity_beast.epoch import SecondTexts
from trinity_beast.usage.record import COLUMNS, UsageRecord

ROWS_PER_STATEMENT = 200
"""Rows per ``INSERT`` statement: 2,400 bound parameters, inside SQLite's limit of 32,766."""


@functools.lru_cache(maxsize=8)
def _insert_sql(rows: int) -> str:
    """The insert of ``rows`` rows (one text per row count, so the driver's statement cache
    keeps the full-size one prepared)."""
    values = f"({', '.join('?' * len(COLUMNS))})"
    return (f"INSERT INTO usage_logs ({', '.join(COLUMNS)}) "  # noqa: S608 - constant names only
            f"VALUES {', '.join([values] * rows)} ON CONFLICT (id) DO NOTHING "
            "RETURNING api_key_id")


_ADVANCE = (
    api_keys.update()
    .where(api_keys.c.key_id == sa.bindparam("key"))
    .values(current_usage=api_keys.c.current_usage + sa.bindparam("count"),
            updated_at=sa.bindparam("now"))
)
_SECONDS = SecondTexts("%Y-%m-%d %H:%M:%S")


def sqlite_time(ts: float) -> str:
    """Epoch seconds as the text SQLAlchemy stores for a UTC ``DateTime`` on SQLite
    (``2026-12-05 21:12:36.377709``), so reads and comparisons see no difference."""
    text, micros = _SECONDS.split(ts)
    return f"{text}.{micros:06d}"


class SqliteInserter:
    """The writer thread of one SQLite database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._url = engine.url
        self._engine = sqlite_sync_engine(engine)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-sqlite")

    async def close(self) -> None:
        """Close the thread's connection and end the thread (after the batch it runs)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)

    async def insert(self, records: list[UsageRecord]) -> Counter[str]:
        """Insert ``records`` (distinct ids), advance ``current_usage``; the rows inserted per
        key. Raises ``DatabaseUnavailable`` as :func:`~trinity_beast.db.engine.begin` does."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, self._insert, records)
        except Exception as exc:
            unavailable = database_unavailable(self._url, exc)
            if unavailable is not None:
                raise unavailable from exc
            raise

    def _insert(self, records: list[UsageRecord]) -> Counter[str]:
        inserted: Counter[str] = Counter()
        with self._engine.begin() as conn:
            for start in range(0, len(records), ROWS_PER_STATEMENT):
                chunk = records[start:start + ROWS_PER_STATEMENT]
                result = conn.exec_driver_sql(_insert_sql(len(chunk)), _parameters(chunk))
                inserted.update([row[0] for row in result.fetchall()])
            if inserted:
                now = utcnow()
                conn.execute(_ADVANCE, [{"key": key, "count": count, "now": now}
                                        for key, count in inserted.items()])
        return inserted


def _parameters(records: list[UsageRecord]) -> tuple[object, ...]:
    """The bound values of a multi-row insert: each record's columns in order, ``created_at``
    as SQLite's text."""
    values: list[object] = []
    extend = values.extend
    append = values.append
    for record in records:
        extend(astuple(record)[:-1])
        append(sqlite_time(record.created_at))
    return tuple(values)


_INSERTERS: weakref.WeakKeyDictionary[AsyncEngine, SqliteInserter] = weakref.WeakKeyDictionary()


def sqlite_inserter(engine: AsyncEngine) -> SqliteInserter:
    """The inserter of ``engine``'s database: made on first use, closed by
    :func:`~trinity_beast.db.engine.dispose_engine`."""
    inserter = _INSERTERS.get(engine)
    if inserter is None:
        inserter = _INSERTERS[engine] = SqliteInserter(engine)
        on_dispose(engine, functools.partial(_close, weakref.ref(engine), inserter))
    return inserter


async def _close(engine: weakref.ref[AsyncEngine], inserter: SqliteInserter) -> None:
    """Forget ``inserter`` (an engine used again after disposal gets a new one) and close it.
    The engine is held weakly: what is registered must not keep it alive."""
    alive = engine()
    if alive is not None and _INSERTERS.get(alive) is inserter:
        del _INSERTERS[alive]
    await inserter.close()
