"""One member of the ``usage-writers`` group on the Valkey stream (one per node process).

Each step reads up to ``usage_log_batch_size`` records' worth of entries (``XREADGROUP``,
blocking at most ``usage_log_flush_ms``), hands their records to the writer (database, or
spool when it is down) and only then acknowledges and deletes the entries (``XACK`` +
``XDEL``). A consumer that dies between reading and acknowledging leaves its entries pending;
every ``claim_idle_ms / 2`` each consumer takes over entries pending longer than
``claim_idle_ms`` (``XAUTOCLAIM``) and writes them. Delivery is therefore at-least-once, and
the database's primary key on the record id makes it exactly-once in ``usage_logs`` and in
``current_usage``. Entries that neither the database nor a full spool could take stay pending
and are retried the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from trinity_beast.params.values import Parameters
from trinity_beast.usage.counters import LogThrottle, UsageCounters
from trinity_beast.usage.record import UsageRecord
from trinity_beast.usage.stream import GROUP, REDIS_ERRORS, MalformedEntry, decode_entry
from trinity_beast.usage.writer import UsageWriter

log = logging.getLogger(__name__)

Entry = tuple[str, Mapping[str, str]]
DEFAULT_CLAIM_IDLE_MS = 60_000
"""Like the seed's SQS visibility timeout: an entry unacknowledged this long is taken over."""
FORGET_AFTER_CLAIMS = 10
"""A consumer with nothing pending and idle this many claim periods is removed from the group."""
RETRY_SECONDS = (0.5, 30.0)


class StreamConsumer:
    def __init__(self, redis: Redis, key: str, name: str, writer: UsageWriter,
                 params: Parameters, counters: UsageCounters, *,
                 claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.key = key
        self.name = name
        self.writer = writer
        self.params = params
        self.counters = counters
        self.claim_idle_ms = claim_idle_ms
        self._clock = clock
        self._next_claim = 0.0
        self._claim_cursor = "0-0"
        self._failure_log = LogThrottle(60.0)

    async def ensure_group(self) -> None:
        """Create the group (reading the stream from its start) unless it exists."""
        try:
            await self.redis.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self) -> list[Entry]:
        """New entries for this consumer (``XREADGROUP … >``)."""
        count = max(1, self.params.get_int("usage_log_batch_size")
                    // self.params.get_int("sqs_batch_size"))
        reply = await self.redis.xreadgroup(GROUP, self.name, {self.key: ">"}, count=count,
                                            block=self._block_ms())
        if not isinstance(reply, list):  # None: nothing arrived while blocking
            return []
        return [(str(entry_id), fields)
                for _stream, entries in reply for entry_id, fields in entries]

    async def claim(self) -> list[Entry]:
        """One page of entries pending longer than ``claim_idle_ms`` with any consumer, now
        ours. Entries trimmed from the stream while pending are counted as ``trimmed``."""
        reply: list[Any] = await self.redis.xautoclaim(
            self.key, GROUP, self.name, self.claim_idle_ms, start_id=self._claim_cursor,
            count=max(1, self.params.get_int("usage_log_batch_size")
                      // self.params.get_int("sqs_batch_size")))
        self._claim_cursor = str(reply[0])
        trimmed = reply[2] if len(reply) > 2 else []
        if trimmed:
            self.counters.trimmed += len(trimmed)
            log.error("usage stream: %d pending entries were trimmed before being written",
                      len(trimmed))
        if self._claim_cursor == "0-0":
            self._next_claim = self._clock() + self.claim_idle_ms / 2000
            await self._forget_idle_consumers()
        return [entry for entry in reply[1] if entry[0] is not None]

    async def handle(self, entries: Sequence[Entry]) -> None:
        """Write the entries' records, then acknowledge and delete the entries written."""
        done: list[str] = []
        records: list[UsageRecord] = []
        for entry_id, fields in entries:
            try:
                decoded = decode_entry(fields)
            except MalformedEntry as exc:
                # The message says it all; a traceback would only show the decoder.
                log.error("usage stream entry %s rejected: %s", entry_id, exc)  # noqa: TRY400
                self.counters.rejected += 1
                done.append(entry_id)
                continue
            if decoded is not None:
                records.extend(decoded)
                done.append(entry_id)
        if records and await self.writer.persist(records):
            return  # the spool is full and the database down: the entries stay pending
        if done:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.key, GROUP, *done)
                pipe.xdel(self.key, *done)
                await pipe.execute()

    async def step(self) -> int:
        """Claim (when due) or read one batch and handle it; returns the entries handled."""
        entries = await self.claim() if self._clock() >= self._next_claim else []
        if not entries:
            entries = await self.read()
        if entries:
            await self.handle(entries)
        return len(entries)

    async def run(self, closing: asyncio.Event) -> None:
        """Step until ``closing`` is set; Valkey failures are logged and retried with backoff,
        a vanished stream or group (Valkey flushed) is created again."""
        pause = RETRY_SECONDS[0]
        group_ready = False
        while not closing.is_set():
            try:
                if not group_ready:
                    await self.ensure_group()
                    group_ready = True
                await self.step()
            except REDIS_ERRORS as exc:
                if self._failure_log.ready():
                    log.warning("usage stream consumer %s: %s", self.name, exc)
                if "NOGROUP" in str(exc):
                    group_ready = False
                    continue
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_SECONDS[1])
                continue
            pause = RETRY_SECONDS[0]

    async def _forget_idle_consumers(self) -> None:
        """Remove consumers of dead processes (nothing pending, idle for long) from the group."""
        forget_ms = self.claim_idle_ms * FORGET_AFTER_CLAIMS
        for consumer in await self.redis.xinfo_consumers(self.key, GROUP):
            name = str(consumer["name"])
            if name != self.name and not consumer["pending"] and consumer["idle"] > forget_ms:
                await self.redis.xgroup_delconsumer(self.key, GROUP, name)

    def _block_ms(self) -> int:
        """``usage_log_flush_ms``, kept under half the client's socket timeout."""
        block = self.params.get_int("usage_log_flush_ms")
        timeout = self.redis.connection_pool.connection_kwargs.get("socket_timeout")
        if timeout:
            block = min(block, max(1, int(timeout * 500)))
        return block
