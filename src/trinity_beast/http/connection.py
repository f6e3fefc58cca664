"""One HTTP/1.1 connection: the reader parses, the handler answers, answers leave in order.

The hot path is synchronous: a handler that returns a :class:`Response` is called from the
parser's ``on_message_complete`` callback and its answer is encoded at once; everything one
``data_received`` produces leaves in a single ``transport.write``. Only a handler that
returns an awaitable gets a task; answers that arrive behind it wait in ``_queue`` so
pipelined requests are answered in request order.

Deadlines are plain numbers checked by the server's periodic sweep
(:meth:`HttpConnection.check_deadlines`), so no timer is created per request.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import cast

from trinity_beast.http.encoder import CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE
from trinity_beast.http.reader import BODY, HEAD, IDLE, INF, RequestReader
from trinity_beast.http.request import Request
from trinity_beast.http.response import Response, default_error_factory
from trinity_beast.http.state import ServerState

log = logging.getLogger(__name__)

# What to do once the pending output is written.
_KEEP_OPEN, _CLOSE, _LINGER = 0, 1, 2


class _Slot:
    """One answer waiting its turn: a response (``None`` while its task runs) or raw bytes."""

    __slots__ = ("data", "request", "response")

    def __init__(self, request: Request | None, response: Response | None,
                 data: bytes | None = None) -> None:
        self.request = request
        self.response = response
        self.data = data


def _describe(request: Request | None) -> str:
    """A request for the log: method and path only (the query may carry an API key)."""
    return "-" if request is None else f"{request.method} {request.path}"


class HttpConnection(RequestReader, asyncio.Protocol):
    """The protocol object of one client connection (see the module docstring)."""

    _transport: asyncio.Transport

    def __init__(self, state: ServerState) -> None:
        super().__init__(state)
        self._state = state
        # Typed loosely on purpose: what a handler returns is checked, not trusted.
        self._handler: Callable[[Request], object] = state.handler
        self._encoder = state.encoder
        self._max_pipelined = state.limits.max_pipelined
        self._idle_span = state.idle_span
        self._loop = asyncio.get_running_loop()
        self._queue: deque[_Slot] = deque()
        self._out: list[bytes] = []
        self._after_write = _KEEP_OPEN
        self._write_deadline = INF
        self._lingering = False
        self._closing = False
        self._reading_paused = False
        self._writing_paused = False

    # --- asyncio protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._client = (str(peer[0]), int(peer[1]))
        self._state.opened(self)
        if self._state.draining:
            self._close()
            return
        # The first request's head is due within read_header_timeout of the accept.
        self._deadline = self._clock.now + self._head_span

    def eof_received(self) -> bool | None:
        if self._lingering or not self._queue:
            return None
        # Answer what is queued, then close: a half-closed client may still read.
        self._phase = IDLE
        self._stopped = True
        self._reading_paused = True
        self._deadline = INF
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._queue.clear()
        self._deadline = self._write_deadline = INF
        self._state.closed(self)

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._write_deadline = self._clock.now + self._state.write_span
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if not self._closing:
            self._write_deadline = INF
        self._update_reading()

    def _update_reading(self) -> None:
        """Pause reading while stopped, while the client does not read our answers, or while
        ``max_pipelined`` answers wait; a lingering connection reads (and discards) anyway."""
        if self._closing:
            return
        want = self._lingering or not (
            self._stopped or self._writing_paused or len(self._queue) >= self._max_pipelined)
        if want == self._reading_paused:
            self._reading_paused = not want
            if want:
                self._transport.resume_reading()
            else:
                self._transport.pause_reading()

    # --- called by the server ---------------------------------------------------------------

    def check_deadlines(self, now: float) -> None:
        """Enforce the timeouts; the server's sweep calls this every tick."""
        if now >= self._write_deadline:
            self._transport.abort()
        elif now >= self._deadline:
            self._deadline = INF
            if self._lingering:
                self._close()
            elif self._phase == HEAD:
                self._reject(408, "request_timeout", "the request head did not arrive in time")
            elif self._phase == BODY:
                self._reject(408, "request_timeout", "the request body did not arrive in time")
            else:
                self._stopped = True
                self._close()
            self._flush()

    def begin_shutdown(self) -> None:
        """Finish the request being read and the answers queued, then close; close if idle."""
        self._draining = True
        if self._closing or self._phase != IDLE:
            return
        self._stopped = True
        if self._lingering or not self._queue:
            self._close()
        else:
            self._update_reading()

    def abort(self) -> None:
        self._transport.abort()

    # --- answering --------------------------------------------------------------------------

    def on_message_complete(self) -> None:
        if self._body_after_upgrade:
            return  # the body follows outside this parser's view; see _continue_after_upgrade
        self._phase = IDLE
        request = self._request
        body = self._body
        if body:
            request.body = body if type(body) is bytes else bytes(body)
            self._body = b""
        if not request.keep_alive or self._draining:
            self._stopped = True
        self._state.requests_total += 1
        try:
            result = self._handler(request)
        except Exception:
            log.exception("HTTP handler failed on %s", _describe(request))
            result = self._internal_error()
        if type(result) is Response and not self._queue:
            self._send(result, request)  # the hot path: no task, no await
            self._deadline = self._clock.now + self._idle_span
        else:
            self._dispatch(result, request)

    def _dispatch(self, result: object, request: Request) -> None:
        """Everything but the hot path: an awaitable, a queue to join, a broken contract."""
        if isinstance(result, Response):
            self._respond(result, request)
        elif inspect.isawaitable(result):
            slot = _Slot(request, None)
            self._queue.append(slot)
            task = self._loop.create_task(self._await_response(slot, result))
            self._state.track(task)
            if len(self._queue) >= self._max_pipelined:
                self._update_reading()
        else:
            log.error("HTTP handler returned %s instead of a Response", type(result).__name__)
            self._respond(self._internal_error(), request)
        # No idle timeout while answers are pending: the next deadline is the handler's.
        self._deadline = INF if self._queue else self._clock.now + self._idle_span

    async def _await_response(self, slot: _Slot, pending: Awaitable[object]) -> None:
        request = slot.request
        try:
            response = await pending
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the server is cancelling this task (end of a shutdown's grace)
            # A cancellation from inside the handler must not leave the queue blocked.
            log.exception("HTTP handler was cancelled on %s", _describe(request))
            response = self._internal_error()
        except Exception:
            log.exception("HTTP handler failed on %s", _describe(request))
            response = self._internal_error()
        if not isinstance(response, Response):
            log.error("HTTP handler returned %s instead of a Response", type(response).__name__)
            response = self._internal_error()
        slot.response = response
        if not self._closing:
            self._drain_queue()
            self._flush()

    def _internal_error(self) -> Response:
        return self._state.error_response(500, "internal_error", "internal server error")

    def _reject(self, status: int, code: str, message: str) -> None:
        """Answer an error the server found in the input, then close (with lingering)."""
        self._phase = IDLE
        self._stopped = True
        self._respond(self._state.error_response(status, code, message), None)

    def _interim(self, data: bytes) -> None:
        if self._queue:
            self._queue.append(_Slot(None, None, data))
        else:
            self._out.append(data)

    def _respond(self, response: Response, request: Request | None) -> None:
        queue = self._queue
        if not queue:
            self._send(response, request)
            return
        queue.append(_Slot(request, response))
        if len(queue) >= self._max_pipelined:
            self._update_reading()

    def _drain_queue(self) -> None:
        """Send the answers at the head of the queue that are ready, in order."""
        queue = self._queue
        while queue and not self._after_write:  # nothing follows an answer that closes
            slot = queue[0]
            if slot.data is not None:
                queue.popleft()
                self._out.append(slot.data)
            elif slot.response is not None:
                queue.popleft()  # first: _send asks whether this answer is the last one
                self._send(slot.response, slot.request)
            else:
                break
        if not queue and self._phase == IDLE and not self._stopped:
            self._deadline = self._clock.now + self._idle_span
        if self._reading_paused:
            self._update_reading()

    def _send(self, response: Response, request: Request | None) -> None:
        """Encode one answer into the output; decide whether the connection ends with it."""
        if request is None:
            keep_alive = False
        else:
            keep_alive = request.keep_alive and not (
                self._stopped and not self._queue and self._phase == IDLE)
        if not keep_alive:
            connection = CONNECTION_CLOSE
            self._after_write = _CLOSE if request is not None else _LINGER
        elif request is not None and request.http_version == "1.0":
            connection = CONNECTION_KEEP_ALIVE
        else:
            connection = b""
        head_only = request is not None and request.method == "HEAD"
        try:
            data = self._encoder.encode(response, connection, head_only)
        except Exception:
            log.exception("cannot send %r to %s", response, _describe(request))
            data = self._encode_internal_error(connection, head_only)
        self._out.append(data)

    def _encode_internal_error(self, connection: bytes, head_only: bool) -> bytes:
        try:
            return self._encoder.encode(self._internal_error(), connection, head_only)
        except Exception:
            log.exception("cannot send the error factory's answer; using the default one")
            fallback = default_error_factory(500, "internal_error", "internal server error")
            return self._encoder.encode(fallback, connection, head_only)

    # --- writing and closing ----------------------------------------------------------------

    def _flush(self) -> None:
        out = self._out
        if self._closing:
            out.clear()
            return
        if out:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        after = self._after_write
        if after:
            self._after_write = _KEEP_OPEN
            if after == _CLOSE:
                self._close()
            else:
                self._linger()
        elif self._stopped:
            if not self._queue and self._phase == IDLE:
                self._close()
            else:
                self._update_reading()

    def _linger(self) -> None:
        """Half-close after an error answer and discard input for a while.

        Closing at once while the client is still sending (an oversized body, say) makes the
        kernel reset the connection, and the client may lose the answer.
        """
        self._stopped = True
        self._lingering = True
        self._deadline = self._clock.now + self._body_span
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._update_reading()

    def _close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._deadline = INF
        self._transport.close()
        if self._transport.get_write_buffer_size():
            # Whatever is still buffered must reach the client within the write timeout.
            self._write_deadline = min(self._write_deadline,
                                       self._clock.now + self._state.write_span)
