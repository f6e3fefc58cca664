"""The Valkey stream ``{prefix}usage:stream``: its entry format and the producer.

One entry carries up to ``sqs_batch_size`` records: fields ``type`` = ``usage_log/1`` and
``records`` = a JSON array of records, each record an array in :class:`UsageRecord` field
order (msgspec ``array_like``). A new record layout gets a new ``type``; a writer leaves an
entry of a type it does not know pending for one that does.

The producer adds every flush's entries in one pipeline (``XADD … MAXLEN ~ 2*maxlen``, plus an
``XLEN``). When Valkey fails, or the stream's backlog reaches ``maxlen`` (writers are not
keeping up), it spools instead and stays on the spool for a backoff period; the spool is
replayed straight into the database by this node's recovery loop, so nothing depends on
Valkey coming back. Writers delete what they acknowledge, so the stream's length is its
unwritten backlog; ``MAXLEN`` is only a safety net that the backlog check keeps Valkey from
ever reaching.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from trinity_beast.params.values import Parameters
from trinity_beast.usage.counters import LogThrottle
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.writer import UsageWriter

log = logging.getLogger(__name__)

STREAM_NAME = "usage:stream"
GROUP = "usage-writers"
ENTRY_TYPE = "usage_log/1"
DEFAULT_MAXLEN = 1_000_000
"""Entries the stream may hold unread (with the default batch, up to 10 million records)."""
REDIS_ERRORS = (RedisError, OSError, TimeoutError)
RETRY_SECONDS = (0.5, 30.0)
"""First and largest pause before the producer tries Valkey again after a failure."""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[UsageRecord]).decode


class MalformedEntry(ValueError):
    """A stream entry of our type whose records cannot be decoded."""


def encode_entry(records: list[UsageRecord]) -> dict[FieldT, EncodableT]:
    return {"type": ENTRY_TYPE, "records": _encode(records).decode()}


def decode_entry(fields: Mapping[str, str]) -> list[UsageRecord] | None:
    """The records of an entry; None for an entry of another type (left for another writer)."""
    if fields.get("type") != ENTRY_TYPE:
        return None
    try:
        return _decode(fields["records"])
    except (KeyError, msgspec.DecodeError) as exc:
        raise MalformedEntry(f"undecodable {ENTRY_TYPE} entry: {exc}") from exc


class StreamProducer:
    """The flusher's hand-off when Valkey is configured."""

    def __init__(self, redis: Redis, key: str, params: Parameters, writer: UsageWriter,
                 maxlen: int = DEFAULT_MAXLEN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.key = key
        self.params = params
        self.writer = writer
        self.maxlen = maxlen
        self._clock = clock
        self._retry_at = 0.0
        self._pause = RETRY_SECONDS[0]
        self._failure_log = LogThrottle(60.0)

    def batch_size(self) -> int:
        return self.params.get_int("sqs_batch_size")

    def flush_seconds(self) -> float:
        return self.params.get_int("sqs_flush_ms") / 1000

    async def deliver(self, records: list[UsageRecord]) -> None:
        if self._clock() < self._retry_at:
            await self.writer.spool_or_drop(records)
            return
        try:
            async with asyncio.timeout(self.params.get_int("sqs_timeout_ms") / 1000):
                length = await self._add(records)
        except REDIS_ERRORS as exc:
            self._back_off(f"Valkey failed: {type(exc).__name__}: {exc}")
            await self.writer.spool_or_drop(records)
        except asyncio.CancelledError:
            await self.writer.spool_or_drop(records)  # shutdown: an entry added twice is fine
            raise
        else:
            if length >= self.maxlen:
                self._back_off(f"stream {self.key} holds {length} unwritten entries")
            else:
                self._pause = RETRY_SECONDS[0]

    async def _add(self, records: list[UsageRecord]) -> int:
        """XADD the records in entries of ``sqs_batch_size``; returns the stream length."""
        size = self.batch_size()
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(records), size):
                pipe.xadd(self.key, encode_entry(records[start:start + size]),
                          maxlen=2 * self.maxlen, approximate=True)
            pipe.xlen(self.key)
            replies = await pipe.execute()
        return int(replies[-1])

    def _back_off(self, reason: str) -> None:
        if self._failure_log.ready():
            log.warning("usage records go to the spool for %.1f s: %s", self._pause, reason)
        self._retry_at = self._clock() + self._pause
        self._pause = min(self._pause * 2, RETRY_SECONDS[1])
