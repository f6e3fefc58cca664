"""Small builders shared by the price tests."""

from __future__ import annotations

from trinity_beast.prices.quote import Quote, checked_price


def quote(asset: str, price: str, source: str = "coinbase-ws", *, at: float = 1000.0,
          exchange_ts: float | None = None) -> Quote:
    text, value = checked_price(price)
    return Quote(asset, text, value, at if exchange_ts is None else exchange_ts, at, source)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
