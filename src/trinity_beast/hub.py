"""Several worker processes on one host, one set of exchange connections.

With ``beast serve --workers N`` the parent process is the *feed hub*: it alone runs the feeds,
the Kraken prewarm poll and the Tier 2 flush, and fans every quote out to the workers over Unix
stream socketpairs (length-prefixed msgpack batches, one write per event-loop turn). Workers
listen on the same ports with ``SO_REUSEPORT``, keep their own Tier 1 book filled from the hub,
and receive feed-status snapshots twice a second (for ``/health`` and freshness rules).
Exchange connections are therefore not multiplied per worker: the exchanges see one client per
host, and every worker serves the same prices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Mapping

import msgspec

from trinity_beast.feeds.status import FeedStatus
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.fanout import FanoutBook
from trinity_beast.prices.quote import Quote

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
STATUS_PERIOD = 0.5


class StatusSnapshot(msgspec.Struct, array_like=True, frozen=True):
    exchange: str
    connected: bool
    last_data_at: float | None
    frames: int
    data_frames: int
    quotes: int
    malformed: int
    reconnects: int
    subscribed: list[str]
    last_error: str | None


class HubMessage(msgspec.Struct, array_like=True, frozen=True):
    quotes: list[Quote] = []
    statuses: list[StatusSnapshot] = []


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(HubMessage).decode


def _frame(message: HubMessage) -> bytes:
    payload = _encode(message)
    return _HEADER.pack(len(payload)) + payload


class Hub:
    """The parent's side: holds one writer per worker connection."""

    def __init__(self, statuses: Mapping[str, FeedStatus] | None = None) -> None:
        self.statuses: Mapping[str, FeedStatus] = statuses or {}
        self.writers: list[asyncio.StreamWriter] = []
        self._readers: list[asyncio.StreamReader] = []
        self.sent_batches = 0

    def book(self) -> FanoutBook:
        return FanoutBook(self.send_quotes)

    async def attach(self, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        self._readers.append(reader)
        self.writers.append(writer)

    def send_quotes(self, quotes: list[Quote]) -> None:
        self._broadcast(_frame(HubMessage(quotes=quotes)))

    def _broadcast(self, data: bytes) -> None:
        self.sent_batches += 1
        for writer in list(self.writers):
            if writer.is_closing():
                self.writers.remove(writer)
                continue
            writer.write(data)

    async def run_status(self) -> None:
        while True:
            self._broadcast(_frame(HubMessage(statuses=[snapshot(s)
                                                        for s in self.statuses.values()])))
            await asyncio.sleep(STATUS_PERIOD)

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


def snapshot(status: FeedStatus) -> StatusSnapshot:
    return StatusSnapshot(status.exchange, status.connected, status.last_data_at, status.frames,
                          status.data_frames, status.quotes, status.malformed, status.reconnects,
                          sorted(status.subscribed), status.last_error)


def apply_snapshot(status: FeedStatus, snap: StatusSnapshot) -> None:
    status.connected = snap.connected
    status.last_data_at = snap.last_data_at
    status.frames = snap.frames
    status.data_frames = snap.data_frames
    status.quotes = snap.quotes
    status.malformed = snap.malformed
    status.reconnects = snap.reconnects
    status.subscribed = frozenset(snap.subscribed)
    status.last_error = snap.last_error


async def follow_hub(reader: asyncio.StreamReader, book: PriceBook,
                     statuses: Mapping[str, FeedStatus]) -> None:
    """The worker's side: apply the hub's quotes and statuses until the hub goes away."""
    while True:
        try:
            header = await reader.readexactly(_HEADER.size)
            payload = await reader.readexactly(_HEADER.unpack(header)[0])
        except asyncio.IncompleteReadError:
            log.warning("feed hub closed the connection")
            return
        message = _decode(payload)
        if message.quotes:
            book.update_many(message.quotes)
        for snap in message.statuses:
            status = statuses.get(snap.exchange)
            if status is not None:
                apply_snapshot(status, snap)
