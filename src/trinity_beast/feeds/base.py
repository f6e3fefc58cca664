"""The contract every exchange adapter fulfils: protocol knowledge only, no sockets or tasks.

An adapter module (``feeds/okx.py`` …) defines one :class:`ExchangeAdapter` subclass and one
:class:`ReplayProtocol` subclass and exposes them as module attributes ``ADAPTER`` and
``REPLAY``. The registry (``feeds/registry.py``) finds them; nothing else needs editing to add an
exchange.

Error hierarchy::

    MalformedFrame          a frame or REST body we cannot turn into quotes (counted, logged)
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

import msgspec

from trinity_beast.prices.quote import Quote


class MalformedFrame(ValueError):
    """A frame (or REST body) that is not what the exchange's protocol promises."""


class Parsed(msgspec.Struct, frozen=True, gc=False):
    """What one received frame means to us.

    ``is_data`` is true for market-data frames (they prove the feed is alive); control frames
    (acks, pongs, heartbeats, status) are not data. ``reconnect`` is set when the server
    announced that it is about to close the connection (e.g. OKX notice 64008).

    A frozen struct rather than a ``NamedTuple``: one is built per frame, and a struct is
    built in C (a ``NamedTuple``'s ``__new__`` runs in Python, about five times slower).
    ``gc=False`` is safe because it holds only quotes, which cannot refer back to it.
    """

    quotes: Sequence[Quote]
    is_data: bool
    reconnect: bool = False


CONTROL = Parsed((), False)
RECONNECT = Parsed((), False, True)
DATA_WITHOUT_QUOTES = Parsed((), True)
"""Market data that carries no trade for us (another channel, another quote currency): it
proves the feed alive all the same."""


def other_channel(channel: str, data_channels: frozenset[str]) -> Parsed:
    """A frame of a channel other than trades: data if ``channel`` is market data, else control."""
    return DATA_WITHOUT_QUOTES if channel in data_channels else CONTROL


class ExchangeAdapter(abc.ABC):
    """Protocol knowledge of one exchange's public WebSocket and REST ticker API."""

    name: ClassVar[str]
    """Short lower-case name, also the replay file name: ``coinbase``."""
    source: ClassVar[str]
    """Source tag of quotes from the WebSocket feed: ``coinbase-ws``."""
    rest_source: ClassVar[str]
    """Source tag of quotes fetched over REST: ``coinbase-rest``."""
    ws_url: ClassVar[str]
    """The production WebSocket URL."""
    rest_url: ClassVar[str]
    """The production REST base URL, without a trailing slash."""
    ws_path: ClassVar[str]
    """Path of the WebSocket endpoint on the replay exchange (``/coinbase``)."""
    keepalive_seconds: ClassVar[float | None] = None
    """Send :meth:`keepalive_message` this often; ``None`` when the exchange needs nothing."""

    @abc.abstractmethod
    def symbol(self, asset: str) -> str:
        """The exchange's WebSocket symbol for an upper-case asset code (``BTC`` → ``BTC-USD``)."""

    @abc.abstractmethod
    def subscribe_messages(self, assets: Sequence[str]) -> list[str]:
        """Text frames that subscribe to trades of ``assets`` (split by the exchange's limits)."""

    @abc.abstractmethod
    def unsubscribe_messages(self, assets: Sequence[str]) -> list[str]:
        """Text frames that stop the trades of ``assets``."""

    def keepalive_message(self) -> str | None:
        """The client keepalive frame, or ``None``."""
        return None

    @abc.abstractmethod
    def parse(self, frame: str | bytes, received_ts: float) -> Parsed:
        """Turn one received frame into quotes; raises :class:`MalformedFrame`, nothing else."""

    @abc.abstractmethod
    def rest_ticker_path(self, asset: str) -> str:
        """Path and query (from :attr:`rest_url`) of the public last-price ticker of ``asset``."""

    @abc.abstractmethod
    def parse_rest_ticker(self, body: bytes, asset: str, received_ts: float) -> Quote:
        """The last price in a REST ticker answer. Raises :class:`MalformedFrame`."""

    def rest_batch_path(self, assets: Sequence[str]) -> str | None:
        """Path of one REST call that returns many tickers, where the exchange has one."""
        return None

    def parse_rest_batch(
        self, body: bytes, assets: Sequence[str], received_ts: float
    ) -> list[Quote]:
        """Quotes from a :meth:`rest_batch_path` answer. Raises :class:`MalformedFrame`."""
        raise MalformedFrame(f"{self.name} has no batch ticker endpoint")


class ReplayReply(NamedTuple):
    """What the replay exchange does with one frame a client sent."""

    replies: Sequence[str] = ()
    subscribe: Sequence[str] = ()
    """Upper-case assets the client asked for."""
    unsubscribe: Sequence[str] = ()


class ReplayProtocol(abc.ABC):
    """The server side of the protocol, just enough for :mod:`trinity_beast.replay` to serve it."""

    heartbeat_seconds: ClassVar[float | None] = None
    """Send :meth:`heartbeat` this often while subscribed (Kraken, Coinbase heartbeats)."""

    def greeting(self) -> list[str]:
        """Frames the server sends right after the WebSocket opens."""
        return []

    @abc.abstractmethod
    def handle(self, text: str) -> ReplayReply:
        """Answer one client frame: acks, pongs, errors, and the subscription change it asks for."""

    def heartbeat(self) -> str | None:
        """One server heartbeat frame, or ``None``."""
        return None

    @abc.abstractmethod
    def rest_ticker(self, path_qs: str, prices: dict[str, str]) -> tuple[int, str] | None:
        """Answer a REST request as the exchange would, from ``prices`` (asset → decimal text).

        Return ``(status, body)``; ``None`` when the path is not one of this exchange's.
        """
