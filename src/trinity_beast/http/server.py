"""The HTTP/1.1 server: a listening socket, its connections, a deadline sweep, shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket

from trinity_beast.http.connection import HttpConnection
from trinity_beast.http.limits import HttpLimits
from trinity_beast.http.response import ErrorFactory, Handler, default_error_factory
from trinity_beast.http.state import ServerState

log = logging.getLogger(__name__)

_BACKLOG = 2048
_CANCEL_WAIT = 1.0
"""Seconds given to handler tasks to end after they are cancelled at the end of a shutdown."""


class HttpServer:
    """Serves ``handler`` over HTTP/1.1 (see ``docs/http-server.md``).

    ``connections_open``, ``requests_total`` and ``errors_total`` are counters to read;
    ``errors_total`` counts the error answers the server made itself (400, 408, 413, 431,
    505, and 500 for a failed handler).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        limits: HttpLimits = HttpLimits(),  # noqa: B008 - frozen, so sharing it is safe
        error_factory: ErrorFactory = default_error_factory,
        server_name: str = "trinity-beast",
    ) -> None:
        self._state = ServerState(handler, limits, error_factory, server_name)
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.TimerHandle | None = None

    @property
    def connections_open(self) -> int:
        return len(self._state.connections)

    @property
    def requests_total(self) -> int:
        return self._state.requests_total

    @property
    def errors_total(self) -> int:
        return self._state.errors_total

    @property
    def port(self) -> int:
        """The bound port (useful after ``start(host, 0)``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the HTTP server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, *, reuse_port: bool = False,
                    sock: socket.socket | None = None) -> None:
        """Listen on ``host:port``, or on ``sock`` (already bound; ``host``/``port`` unused).

        ``reuse_port`` sets ``SO_REUSEPORT`` so several processes share one port.
        """
        if self._server is not None or self._state.draining:
            raise RuntimeError("an HTTP server starts once")
        loop = asyncio.get_running_loop()
        state = self._state
        state.clock.use(loop.time)
        if sock is not None:
            server = await loop.create_server(lambda: HttpConnection(state), sock=sock,
                                              backlog=_BACKLOG)
        else:
            server = await loop.create_server(lambda: HttpConnection(state), host, port,
                                              reuse_port=reuse_port or None, backlog=_BACKLOG)
        self._server = server
        self._ticker = loop.call_later(state.tick, self._tick)

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop accepting, close idle connections, finish in-flight requests, close the rest.

        Requests being read or handled get up to ``grace`` seconds; their answers carry
        ``Connection: close``. What is still open after that is aborted and handler tasks
        are cancelled.
        """
        server = self._server
        if server is None:
            return
        self._server = None  # a second call returns at once
        state = self._state
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        state.draining = True
        server.close()
        for connection in tuple(state.connections):
            connection.begin_shutdown()
        try:
            await asyncio.wait_for(state.all_closed(), grace)
            if state.tasks:
                await asyncio.wait(tuple(state.tasks), timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            log.warning("HTTP shutdown: %d connections still open after %.1f s; aborting",
                        len(state.connections), grace)
        await self._abort_everything()
        if self._ticker is not None:
            self._ticker.cancel()
        await server.wait_closed()

    async def _abort_everything(self) -> None:
        state = self._state
        for connection in tuple(state.connections):
            connection.abort()
        tasks = tuple(state.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_WAIT)
        # Let the transports deliver connection_lost before the caller moves on.
        await asyncio.sleep(0)

    def _tick(self) -> None:
        """Refresh the clock and ``Date``, then enforce every connection's deadlines."""
        state = self._state
        self._ticker = asyncio.get_running_loop().call_later(state.tick, self._tick)
        state.clock.refresh()
        now = state.clock.now
        for connection in tuple(state.connections):
            try:
                connection.check_deadlines(now)
            except Exception:
                log.exception("HTTP deadline check failed; aborting the connection")
                connection.abort()
