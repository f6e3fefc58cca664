"""Batched datagram I/O on Linux: ``recvmmsg``/``sendmmsg`` from libc through :mod:`ctypes`.

Measured on the development machine (docs/udp.md), one system call for up to 64 datagrams in
and one for the replies out cost about a quarter less CPU per datagram than asyncio's
per-datagram ``recvfrom``/``sendto`` (uvloop's ``DatagramProtocol``): the seed's engine reads
with ``recvmmsg`` for the same reason. No C extension: the kernel structures are declared with
ctypes; every buffer is allocated once and lives as long as the transport.

Only 64-bit little-endian Linux is supported (where glibc and musl lay ``struct msghdr`` out
alike); :func:`mmsg_supported` says whether this process can use it, and the server falls
back to ``DatagramProtocol`` otherwise.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any, cast

from trinity_beast.udp.wire import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

Address = tuple[Any, ...]

BATCH = 64
ROUNDS = 4
"""Batches read per readiness event before the loop gets a turn (at most 256 datagrams)."""
RECEIVE_SLOT = MAX_REQUEST_BYTES + 1
"""One byte more than a request may have: a longer datagram arrives cut to this size (and is
then refused as too large) instead of being mistaken for a valid shorter one."""
SEND_SLOT = 2048
NAME_SLOT = 28
"""``sizeof(struct sockaddr_in6)``, the largest peer address."""
MAX_CACHED_ADDRESSES = 65_536
_MSG_DONTWAIT = 0x40
_RETRY = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})


class _IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("len", ctypes.c_size_t))


class _MsgHdr(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_IoVec)), ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int),
    )


class _MMsgHdr(ctypes.Structure):
    _fields_ = (("hdr", _MsgHdr), ("len", ctypes.c_uint))


def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux" or sys.byteorder != "little" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    if not (hasattr(libc, "recvmmsg") and hasattr(libc, "sendmmsg")):
        return None
    # Messages are passed as addresses: a batch's replies may start in the middle of the array.
    libc.recvmmsg.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                              ctypes.c_void_p)
    libc.sendmmsg.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
    libc.recvmmsg.restype = libc.sendmmsg.restype = ctypes.c_int
    return libc


_LIBC = _libc()
_MESSAGE_SIZE = ctypes.sizeof(_MMsgHdr)
_MESSAGE_LENGTH = (_MESSAGE_SIZE // 4, _MMsgHdr.len.offset // 4)
"""Where message ``i``'s ``msg_len`` sits in the array seen as 32-bit words: ``i*a + b``."""


def mmsg_supported() -> bool:
    return _LIBC is not None


class _Slots:
    """``count`` messages; message ``i`` owns buffer slot ``i`` and peer address slot ``i``.

    The memoryviews read and write the lengths without building a ctypes object each time.
    """

    def __init__(self, count: int, size: int, names: ctypes.Array[ctypes.c_char],
                 namelen: int) -> None:
        self.size = size
        self.data = ctypes.create_string_buffer(count * size)
        self.view = memoryview(self.data).cast("B")
        self.iov = (_IoVec * count)()
        self.msgs = (_MMsgHdr * count)()
        self.address = ctypes.addressof(self.msgs)
        base, names_base = ctypes.addressof(self.data), ctypes.addressof(names)
        for i in range(count):
            self.iov[i].base, self.iov[i].len = base + i * size, size
            header = self.msgs[i].hdr
            header.name, header.namelen = names_base + i * NAME_SLOT, namelen
            header.iov, header.iovlen = ctypes.pointer(self.iov[i]), 1
        self.message_lengths = memoryview(self.msgs).cast("B").cast("I")
        self.buffer_lengths = memoryview(self.iov).cast("B").cast("Q")
        """Slot ``i``'s ``iov_len`` is item ``2 * i + 1``."""


class MmsgTransport:
    """Reads batches with ``recvmmsg`` and hands each datagram to ``on_datagram``.

    A reply sent (:meth:`sendto`) while its request is being handled is copied into the send
    slot of that request and leaves with the batch's ``sendmmsg`` (one call per run of
    consecutive answered requests); any other reply (a Tier 2/3 answer, later) goes out with
    ``sendto`` at once. The kernel writes each peer address into the request's address slot,
    where the reply's header already points.
    """

    def __init__(self, sock: socket.socket, on_datagram: Callable[[bytes, Address], None],
                 on_socket_error: Callable[[OSError], None]) -> None:
        if _LIBC is None:
            raise RuntimeError("recvmmsg/sendmmsg are not available on this platform")
        self._sock = sock
        self._fd = sock.fileno()
        self._on_datagram = on_datagram
        self._on_socket_error = on_socket_error
        self._recvmmsg = _LIBC.recvmmsg
        self._sendmmsg = _LIBC.sendmmsg
        self._namelen = 28 if sock.family == socket.AF_INET6 else 16
        """The kernel always reports this length for the socket's family, so the header's
        ``msg_namelen`` never needs resetting between calls."""
        self._names = ctypes.create_string_buffer(BATCH * NAME_SLOT)
        self._in = _Slots(BATCH, RECEIVE_SLOT, self._names, self._namelen)
        self._out = _Slots(BATCH, SEND_SLOT, self._names, self._namelen)
        self._addresses: dict[bytes, Address] = {}
        self._answered: list[int] = []
        """Requests of the current batch whose reply waits in its send slot, ascending."""
        self._current: Address | None = None
        self._index = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._fd, self._on_readable)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self._sock.getsockname()
        return self._sock if name == "socket" else default

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None
        self._sock.close()

    def sendto(self, data: bytes, addr: Address) -> None:
        index, answered = self._index, self._answered
        if addr is self._current and len(data) <= SEND_SLOT and (
                not answered or answered[-1] != index):
            start = index * SEND_SLOT
            self._out.view[start:start + len(data)] = data
            self._out.buffer_lengths[2 * index + 1] = len(data)
            answered.append(index)
            return
        try:
            self._sock.sendto(data, addr)
        except OSError as exc:  # a full send buffer or an unreachable peer: the datagram is lost
            self._on_socket_error(exc)

    def _on_readable(self) -> None:
        for _ in range(ROUNDS):
            count = self._recvmmsg(self._fd, self._in.address, BATCH, _MSG_DONTWAIT, None)
            if count <= 0:
                code = ctypes.get_errno()
                if count < 0 and code not in _RETRY:
                    self._on_socket_error(OSError(code, f"recvmmsg: {errno.errorcode[code]}"))
                return
            self._dispatch(count)
            if count < BATCH:
                return

    def _dispatch(self, count: int) -> None:
        data, names, lengths = self._in.data, self._names, self._in.message_lengths
        stride, offset = _MESSAGE_LENGTH
        namelen, on_datagram, addresses = self._namelen, self._on_datagram, self._addresses
        try:
            for i in range(count):
                raw = cast("bytes", names[i * NAME_SLOT:i * NAME_SLOT + namelen])
                address = addresses.get(raw)
                if address is None:
                    address = self._remember(raw)
                self._current, self._index = address, i
                start = i * RECEIVE_SLOT
                on_datagram(cast("bytes", data[start:start + lengths[i * stride + offset]]),
                            address)
        finally:
            self._current = None
            self._flush()

    def _flush(self) -> None:
        answered = self._answered
        if not answered:
            return
        first = previous = answered[0]
        for index in answered[1:]:
            if index != previous + 1:
                self._send_run(first, previous + 1 - first)
                first = index
            previous = index
        self._send_run(first, previous + 1 - first)
        answered.clear()

    def _send_run(self, first: int, count: int) -> None:
        sent = self._sendmmsg(self._fd, self._out.address + first * _MESSAGE_SIZE, count, 0)
        if sent < count:
            code = ctypes.get_errno() if sent < 0 else errno.EAGAIN
            self._on_socket_error(OSError(code, f"sendmmsg sent {max(sent, 0)} of {count}"))

    def _remember(self, raw: bytes) -> Address:
        """Parse a peer address once; later datagrams from that peer find it in the dict."""
        if len(self._addresses) >= MAX_CACHED_ADDRESSES:
            self._addresses.clear()
        address = self._addresses[raw] = _parse_sockaddr(raw)
        return address


def _parse_sockaddr(raw: bytes) -> Address:
    family = int.from_bytes(raw[0:2], sys.byteorder)
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET6:
        return (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port,
                int.from_bytes(raw[4:8], "big"), int.from_bytes(raw[24:28], sys.byteorder))
    return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
