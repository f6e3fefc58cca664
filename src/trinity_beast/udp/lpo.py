"""The LPO's UDP listener (:2679): one request datagram in, at most one reply datagram out.

The transport only decodes (:mod:`~trinity_beast.udp.wire`), calls the transport-neutral
:class:`~trinity_beast.api.service.LpoService` and encodes (:mod:`~trinity_beast.udp.replies`).
A request whose assets are all in the Tier 1 book is answered inside ``datagram_received``;
only a Tier 2/3 miss becomes a task, and only while the governor has a free slot.

Reply rule (docs/udp.md): a datagram that is not admitted — malformed, unauthenticated, or
refused by its key's limits — gets an error reply only if the reply is no larger than the
datagram (the full error, else the short one) and the guard has a token for its source;
otherwise it is dropped. An admitted request is always answered, errors included. Nothing a
datagram contains can raise out of the callback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from typing import Any, Literal, Protocol, cast

from trinity_beast.api.envelope import Envelope
from trinity_beast.api.service import LpoService
from trinity_beast.errors import BeastError, Unavailable
from trinity_beast.keys.model import KeyRecord
from trinity_beast.prices.lookup import Answer
from trinity_beast.udp.counters import UdpCounters, refusal_reply
from trinity_beast.udp.governor import WorkGovernor
from trinity_beast.udp.guard import ReplyGuard
from trinity_beast.udp.limits import UdpLimits
from trinity_beast.udp.messages import UdpRequest
from trinity_beast.udp.mmsg import MmsgTransport, mmsg_supported
from trinity_beast.udp.replies import Replies, Result, reply_formats
from trinity_beast.udp.signing import NonceCache, SignatureVerifier
from trinity_beast.udp.wire import decode_request, normalize_assets, sniff_form

log = logging.getLogger(__name__)

Address = tuple[Any, ...]
"""What the transport reports as the peer: ``(host, port)`` or ``(host, port, flow, scope)``."""
IoMode = Literal["auto", "mmsg", "protocol"]
"""How datagrams are read: batched ``recvmmsg`` (Linux), asyncio's ``DatagramProtocol``, or
``auto`` (the first where available)."""


class DatagramSender(Protocol):
    """What the server needs of a transport (``asyncio.DatagramTransport`` or ours)."""

    def sendto(self, data: bytes, addr: Address) -> None: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...

    def close(self) -> None: ...


class UdpLpoServer:
    def __init__(self, service: LpoService, envelope: Envelope, *,
                 limits: UdpLimits | None = None, guard: ReplyGuard | None = None,
                 verifier: SignatureVerifier | None = None, io: IoMode = "auto") -> None:
        if io == "mmsg" and not mmsg_supported():
            raise ValueError("io='mmsg' needs recvmmsg/sendmmsg (64-bit little-endian Linux)")
        self.io: IoMode = "mmsg" if io == "auto" and mmsg_supported() else io
        self.service = service
        self.prices = service.prices
        self.limits = limits = limits if limits is not None else UdpLimits()
        self.guard = guard if guard is not None else ReplyGuard(
            limits.error_rate, limits.error_burst, limits.global_error_rate,
            limits.global_error_burst)
        self.verifier = verifier if verifier is not None else SignatureVerifier(
            service.auth.keys, window=limits.signature_window, clock=service.clock,
            nonces=NonceCache(limits.max_nonces_per_key, limits.signature_window))
        self.governor = WorkGovernor(limits.max_concurrent)
        self.counters = UdpCounters()
        self.json, self.text = reply_formats(envelope)
        self._transport: DatagramSender | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful after ``start(host, 0)``)."""
        if self._transport is None:
            raise RuntimeError("the UDP server is not listening")
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Listen on ``host:port``; ``reuse_port`` sets ``SO_REUSEPORT`` so several processes
        share the port (the kernel spreads datagrams by source address)."""
        if self._transport is not None:
            raise RuntimeError("the UDP server is already started")
        self._closing = False
        loop = asyncio.get_running_loop()
        if self.io == "mmsg":
            sock = await _bound_socket(loop, host, port, reuse_port)
            transport = MmsgTransport(sock, self.datagram_received, self.socket_error)
            self.connection_made(transport)
            transport.start(loop)
        else:
            await loop.create_datagram_endpoint(
                lambda: _LpoProtocol(self), local_addr=(host, port),
                reuse_port=reuse_port or None)

    def connection_made(self, transport: DatagramSender) -> None:
        sock = transport.get_extra_info("socket")
        for option, size in ((socket.SO_RCVBUF, self.limits.receive_buffer_bytes),
                             (socket.SO_SNDBUF, self.limits.send_buffer_bytes)):
            sock.setsockopt(socket.SOL_SOCKET, option, size)  # the kernel caps it silently
        self._transport = transport

    async def stop(self, grace: float = 1.0) -> None:
        """Ignore new datagrams, give in-flight Tier 2/3 work ``grace`` seconds to answer,
        cancel what is left, close the socket."""
        transport = self._transport
        if transport is None:
            return
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(tuple(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._transport = None
        transport.close()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self._closing:
            return
        self.counters.received += 1
        try:
            self._handle(data, addr)
        except Exception:
            self.counters.errors += 1
            log.exception("UDP datagram from %s not handled", addr)

    def _handle(self, data: bytes, addr: Address) -> None:
        started = time.perf_counter()
        try:
            request = decode_request(data)
        except BeastError as exc:
            self._refuse(data, addr, "/price", exc)
            return
        try:
            key = self._admit(request)
        except BeastError as exc:
            self._refuse(data, addr, request.endpoint, exc)
            return
        replies: Replies = self.text if request.form == "text" else self.json
        try:
            assets = normalize_assets(request.assets)
        except BeastError as exc:
            self._fail(key, request.endpoint, replies, exc, addr, started)
            return
        local = self.prices.local
        answers = [local(asset) for asset in assets]
        if None in answers:
            self._answer_later(key, request.endpoint, replies, assets, addr, started)
        else:
            self._answer(key, request.endpoint, replies, assets, cast("list[Answer]", answers),
                         addr, started)

    def _admit(self, request: UdpRequest) -> KeyRecord:
        """The caller's key, counted by the limiter (one request however many assets)."""
        if request.api_key is not None:
            return self.service.authorize(request.api_key)
        signed = request.signed
        assert signed is not None  # decode_request sets exactly one of the two
        key = self.verifier.verify(signed, request.endpoint, request.assets)
        self.service.limiter.admit(key, self.service.clock())
        return key

    def _refuse(self, data: bytes, addr: Address, endpoint: str, exc: BeastError) -> None:
        """Answer a datagram that was not admitted: small, rate-limited, or not at all."""
        replies: Replies = self.json if sniff_form(data) == "json" else self.text
        reply = refusal_reply(self.counters, self.guard, len(data), addr[0],
                              replies.error(endpoint, exc), lambda: replies.short_error(exc))
        if reply is not None:
            self._send(reply, addr)

    def _answer(self, key: KeyRecord, endpoint: str, replies: Replies, assets: Sequence[str],
                results: Sequence[Answer], addr: Address, started: float) -> None:
        if endpoint == "/price":
            reply = replies.price(results[0], int((time.perf_counter() - started) * 1000))
        else:
            reply = replies.batch(assets, results)
        self._send(reply, addr)
        self.service.log(key, endpoint, "udp", started, 200, results, count=len(assets))

    def _answer_later(self, key: KeyRecord, endpoint: str, replies: Replies,
                      assets: Sequence[str], addr: Address, started: float) -> None:
        """Tier 2/3 in a task if the governor has a slot; ``overloaded`` at once if not."""
        if not self.governor.try_acquire():
            self.counters.dropped_governor += 1
            busy = Unavailable("every UDP work slot is busy; try again", code="overloaded",
                               retry_after=1.0)
            self._fail(key, endpoint, replies, busy, addr, started)
            return
        task = asyncio.get_running_loop().create_task(
            self._answer_remote(key, endpoint, replies, assets, addr, started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, key: KeyRecord, endpoint: str, replies: Replies, exc: BeastError,
              addr: Address, started: float, asset: str | None = None) -> None:
        """Answer an admitted request with an error (always sent: its key paid for it)."""
        self._send(replies.error(endpoint, exc), addr)
        self.service.log(key, endpoint, "udp", started, exc.status, asset=asset)

    async def _answer_remote(self, key: KeyRecord, endpoint: str, replies: Replies,
                             assets: Sequence[str], addr: Address, started: float) -> None:
        try:
            if endpoint == "/prices":
                results: list[Result] = await self.service.lookup_many(assets)
                answers = [r for r in results if not isinstance(r, BeastError)]
                self._send(replies.batch(assets, results), addr)
                self.service.log(key, endpoint, "udp", started, 200, answers, count=len(assets))
                return
            try:
                answer = await self.prices.lookup(assets[0])
            except BeastError as exc:
                self._fail(key, endpoint, replies, exc, addr, started, asset=assets[0])
                return
            self._answer(key, endpoint, replies, assets, [answer], addr, started)
        except Exception:
            self.counters.errors += 1
            log.exception("UDP Tier 2/3 answer to %s failed", addr)
        finally:
            self.governor.release()

    def _send(self, reply: bytes, addr: Address) -> None:
        transport = self._transport
        if transport is not None:
            transport.sendto(reply, addr)
            self.counters.answered += 1

    def socket_error(self, exc: Exception) -> None:
        self.counters.socket_errors += 1
        log.debug("UDP socket error: %s", exc)


async def _bound_socket(loop: asyncio.AbstractEventLoop, host: str, port: int,
                        reuse_port: bool) -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port`` (first address ``host`` resolves to)."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _LpoProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: UdpLpoServer) -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server.connection_made(cast("asyncio.DatagramTransport", transport))

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._server.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        self._server.socket_error(exc)
