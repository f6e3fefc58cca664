"""What the connections of one server share: handler, limits, clock, encoder, counters."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from trinity_beast.http.date import Clock
from trinity_beast.http.encoder import ResponseEncoder
from trinity_beast.http.limits import HttpLimits
from trinity_beast.http.response import (
    ErrorFactory,
    Handler,
    Response,
    default_error_factory,
)

if TYPE_CHECKING:
    from trinity_beast.http.connection import HttpConnection

log = logging.getLogger(__name__)

_LONGEST_TICK = 0.5
"""Seconds between two deadline sweeps at most (shorter when a timeout is shorter)."""


class ServerState:
    """Configuration, derived constants and live bookkeeping of one :class:`HttpServer`.

    Deadlines are checked by a sweep every ``tick`` seconds against the cached clock, so a
    timeout fires between ``timeout`` and ``timeout + 2 * tick`` after its start; each span
    below is the timeout plus one tick, so a deadline is never early.
    """

    def __init__(self, handler: Handler, limits: HttpLimits, error_factory: ErrorFactory,
                 server_name: str) -> None:
        self.handler = handler
        self.limits = limits
        self.error_factory = error_factory
        self.clock = Clock()
        self.encoder = ResponseEncoder(server_name, self.clock)
        self.tick = min(_LONGEST_TICK, limits.shortest_timeout / 4)
        self.head_span = limits.read_header_timeout + self.tick
        self.body_span = limits.read_timeout + self.tick
        self.idle_span = limits.idle_timeout + self.tick
        self.write_span = limits.write_timeout + self.tick
        self.connections: set[HttpConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False
        self.requests_total = 0
        self.errors_total = 0
        self._all_closed: asyncio.Event | None = None

    def error_response(self, status: int, code: str, message: str) -> Response:
        """The application's answer to an error the server found; counted in ``errors_total``."""
        self.errors_total += 1
        try:
            return self.error_factory(status, code, message)
        except Exception:
            log.exception("the HTTP error factory failed; using the default error body")
            return default_error_factory(status, code, message)

    def track(self, task: asyncio.Task[None]) -> None:
        """Hold a strong reference to a handler task until it ends."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def opened(self, connection: HttpConnection) -> None:
        self.connections.add(connection)

    def closed(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)
        if self._all_closed is not None and not self.connections:
            self._all_closed.set()

    async def all_closed(self) -> None:
        """Return once no connection is open (used while shutting down)."""
        if self._all_closed is None:
            self._all_closed = asyncio.Event()
        if self.connections:
            await self._all_closed.wait()
