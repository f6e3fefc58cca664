"""A bounded UDP load client for benchmarks: request/response over loopback, nothing else.

:func:`run_load` keeps ``window`` requests in flight on one blocking socket and stops after
``count`` replies (or lost datagrams) or ``max_seconds``; :func:`run_load_parallel` runs it in
several processes that start at the same moment, so one Python client does not cap what a fast
server can show. Only loopback addresses are accepted: this is a measuring tool, not a flooder.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

RECEIVE_BYTES = 2048


@dataclass(frozen=True, slots=True)
class LoadResult:
    sent: int
    received: int
    lost: int
    """Requests whose reply did not arrive within ``timeout`` (counted once, never re-sent)."""
    started: float
    """Wall-clock start (``time.time()``), shared by every process of a parallel run."""
    finished: float

    @property
    def elapsed(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate(self) -> float:
        """Replies per second."""
        return self.received / self.elapsed


def run_load(host: str, port: int, payloads: Sequence[bytes], *, count: int, window: int = 32,
             timeout: float = 0.5, max_seconds: float = 30.0,
             start_at: float | None = None) -> LoadResult:
    """Send ``count`` requests (cycling through ``payloads``) with ``window`` in flight.

    A reply frees one slot and sends the next request. After ``timeout`` seconds without any
    reply every outstanding request is counted lost and the window is refilled. ``start_at``
    (a ``time.time()`` value) delays the start so parallel clients begin together.
    """
    _require_loopback(host)
    if not payloads or count < 1 or window < 1:
        raise ValueError("run_load needs payloads, count >= 1 and window >= 1")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        sock.settimeout(timeout)
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        return _drive(sock, payloads, count, window, max_seconds)


def _drive(sock: socket.socket, payloads: Sequence[bytes], count: int, window: int,
           max_seconds: float) -> LoadResult:
    started = time.time()
    deadline = time.monotonic() + max_seconds
    sent = received = lost = 0
    cycle = len(payloads)
    send, recv = sock.send, sock.recv
    while received + lost < count and time.monotonic() < deadline:
        while sent < count and sent - received - lost < window:
            send(payloads[sent % cycle])
            sent += 1
        try:
            recv(RECEIVE_BYTES)
            received += 1
        except TimeoutError:
            lost += sent - received - lost
    return LoadResult(sent, received, lost, started, time.time())


def run_load_parallel(host: str, port: int, payloads: Sequence[bytes], *, processes: int,
                      count: int, window: int = 32, timeout: float = 0.5,
                      max_seconds: float = 30.0) -> LoadResult:
    """:func:`run_load` in ``processes`` processes (``count`` each), summed into one result."""
    _require_loopback(host)
    if processes < 1:
        raise ValueError("run_load_parallel needs processes >= 1")
    start_at = time.time() + 0.5 + 0.2 * processes  # spawned interpreters need a moment
    context = multiprocessing.get_context("spawn")
    args = [(host, port, list(payloads), count, window, timeout, max_seconds, start_at)
            for _ in range(processes)]
    with context.Pool(processes) as pool:
        results = pool.starmap(_run_load_positional, args)
    return LoadResult(
        sent=sum(r.sent for r in results), received=sum(r.received for r in results),
        lost=sum(r.lost for r in results), started=min(r.started for r in results),
        finished=max(r.finished for r in results),
    )


def _run_load_positional(host: str, port: int, payloads: list[bytes], count: int, window: int,
                         timeout: float, max_seconds: float, start_at: float) -> LoadResult:
    return run_load(host, port, payloads, count=count, window=window, timeout=timeout,
                    max_seconds=max_seconds, start_at=start_at)


def _require_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the load client only targets loopback addresses, not {host!r}")
