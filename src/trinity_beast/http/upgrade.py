"""Reading the body of an ``Upgrade`` request, which httptools skips.

We never switch protocols, so an upgrade request is an ordinary request. httptools, however,
stops at the end of such a request's head: it treats whatever follows as the new protocol's
bytes. A body-less upgrade request is simply followed by more parsing; when one announces a
body, the connection hands the following bytes to a fresh parser driven by
:class:`BodyAfterUpgrade`, primed with a head that announces the same framing.
"""

from __future__ import annotations

from typing import Protocol


class StopParsing(Exception):
    """Raised from a parser callback to make httptools stop; the reason is kept elsewhere."""


class _BodySink(Protocol):
    def on_body(self, body: bytes) -> None: ...

    def finish_upgrade_body(self) -> None: ...


class BodyAfterUpgrade:
    """Parser callbacks that pass the body on to the connection, then refuse more requests."""

    __slots__ = ("_done", "_sink", "_started")

    def __init__(self, sink: _BodySink) -> None:
        self._sink = sink
        self._started = False
        self._done = False

    def on_message_begin(self) -> None:
        if self._started:
            raise StopParsing  # the stream after the body is not parsed; the connection closes
        self._started = True

    def on_body(self, body: bytes) -> None:
        self._sink.on_body(body)

    def on_message_complete(self) -> None:
        if not self._done:
            self._done = True
            self._sink.finish_upgrade_body()
