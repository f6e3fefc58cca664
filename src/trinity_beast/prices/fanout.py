"""The feed hub's price book: a :class:`PriceBook` whose updates are also sent on, in batches.

With ``beast serve --workers N`` the hub (:mod:`trinity_beast.hub`) keeps this book: every quote
is applied locally and queued, and the queue goes to the workers once per event-loop turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.quote import Quote


class FanoutBook(PriceBook):
    """The hub's book: every update is also queued for the workers."""

    __slots__ = ("_pending", "_scheduled", "_send")

    def __init__(self, send: Callable[[list[Quote]], None]) -> None:
        super().__init__()
        self._pending: list[Quote] = []
        self._scheduled = False
        self._send = send

    def update(self, quote: Quote) -> None:
        super().update(quote)
        self._pending.append(quote)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        pending, self._pending, self._scheduled = self._pending, [], False
        if pending:
            self._send(pending)
