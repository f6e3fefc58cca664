"""Tier 1: the in-process price book. Every feed writes here; every answer reads here first.

Writes and reads are plain dict operations on the event loop thread: nothing awaits, nothing
locks. The book keeps, per asset, the latest quote of every source and the single most recently
received quote (the usual answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from trinity_beast.prices.quote import Quote


class PriceBook:
    __slots__ = ("_by_source", "_latest", "updates")

    def __init__(self) -> None:
        self._latest: dict[str, Quote] = {}
        self._by_source: dict[str, dict[str, Quote]] = {}
        self.updates = 0

    def update(self, quote: Quote) -> None:
        """Record a quote; it becomes the asset's latest (last write wins, by arrival)."""
        asset = quote.asset
        self._latest[asset] = quote
        sources = self._by_source.get(asset)
        if sources is None:
            self._by_source[asset] = {quote.source: quote}
        else:
            sources[quote.source] = quote
        self.updates += 1

    def update_many(self, quotes: Iterable[Quote]) -> None:
        for quote in quotes:
            self.update(quote)

    def latest(self, asset: str) -> Quote | None:
        return self._latest.get(asset)

    def by_source(self, asset: str) -> dict[str, Quote]:
        """The latest quote of each source for ``asset`` (a live view: do not mutate)."""
        return self._by_source.get(asset, {})

    def drop(self, asset: str, source: str) -> None:
        """Forget ``source``'s quote of ``asset`` (e.g. after unsubscribing it)."""
        sources = self._by_source.get(asset)
        if not sources or sources.pop(source, None) is None:
            return
        if not sources:
            del self._by_source[asset]
            self._latest.pop(asset, None)
        elif self._latest.get(asset) is not None and self._latest[asset].source == source:
            self._latest[asset] = max(sources.values(), key=lambda q: q.received_ts)

    def assets(self) -> list[str]:
        return sorted(self._latest)

    def __len__(self) -> int:
        return len(self._latest)

    def __iter__(self) -> Iterator[Quote]:
        """Every asset's latest quote."""
        return iter(list(self._latest.values()))
