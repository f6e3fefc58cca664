"""A lease authority served over a Unix socket: the workers of one host without Valkey.

The parent process runs :func:`serve_authority` over a :class:`~.lease.LocalAuthority`; each
worker leases through :class:`UnixAuthority`. Frames are a 4-byte big-endian length and a
MessagePack array: requests one way, grants the other, one batch per frame, in order. The
socket file is made readable and writable by its owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import msgspec

from trinity_beast.limits.lease import AuthorityUnavailable, Grant, LeaseAuthority, LeaseRequest

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
MAX_FRAME = 4 * 1024 * 1024
_encoder = msgspec.msgpack.Encoder()
_requests = msgspec.msgpack.Decoder(list[LeaseRequest])
_grants = msgspec.msgpack.Decoder(list[Grant])


class FrameTooLarge(ValueError):
    pass


def _frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME:
        raise FrameTooLarge(f"lease frame of {length} bytes")
    return await reader.readexactly(length)


async def serve_authority(path: str | Path, authority: LeaseAuthority) -> asyncio.Server:
    """Serve ``authority`` on the Unix socket ``path`` (a stale socket file is replaced)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                requests = _requests.decode(await _read_frame(reader))
                grants = await authority.lease(requests)
                writer.write(_frame(_encoder.encode(grants)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away
        except (msgspec.DecodeError, FrameTooLarge, AuthorityUnavailable) as exc:
            log.warning("lease connection dropped: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_unix_server(handle, path=str(path))
    os.chmod(path, 0o600)
    return server


class UnixAuthority:
    """:class:`~.lease.LeaseAuthority` client: one connection, one batch at a time, opened on
    first use and again after any failure."""

    def __init__(self, path: str | Path, timeout: float = 0.5) -> None:
        self._path = str(path)
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def lease(self, requests: Sequence[LeaseRequest]) -> list[Grant]:
        if not requests:
            return []
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._exchange(_frame(_encoder.encode(list(requests))))
            except (OSError, asyncio.IncompleteReadError, TimeoutError, msgspec.DecodeError,
                    FrameTooLarge) as exc:
                await self.aclose()
                raise AuthorityUnavailable(f"lease socket {self._path}: {exc!r}") from exc

    async def _exchange(self, frame: bytes) -> list[Grant]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_unix_connection(self._path)
        self._writer.write(frame)
        await self._writer.drain()
        return _grants.decode(await _read_frame(self._reader))

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
