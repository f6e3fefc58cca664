from __future__ import annotations

from tests.prices.helpers import quote
from trinity_beast.prices.book import PriceBook


def test_latest_is_last_written_and_per_source_kept() -> None:
    book = PriceBook()
    book.update(quote("BTC", "100.5", "coinbase-ws", at=1.0))
    book.update(quote("BTC", "100.7", "kraken-ws", at=2.0))
    assert book.latest("BTC") is not None
    assert book.latest("BTC").price == "100.7"  # type: ignore[union-attr]
    assert set(book.by_source("BTC")) == {"coinbase-ws", "kraken-ws"}
    assert book.assets() == ["BTC"]
    assert book.updates == 2


def test_drop_falls_back_to_other_source_then_forgets_asset() -> None:
    book = PriceBook()
    book.update(quote("ETH", "1", "coinbase-ws", at=1.0))
    book.update(quote("ETH", "2", "okx-rest", at=2.0))
    book.drop("ETH", "okx-rest")
    assert book.latest("ETH").source == "coinbase-ws"  # type: ignore[union-attr]
    book.drop("ETH", "coinbase-ws")
    assert book.latest("ETH") is None
    assert len(book) == 0
    book.drop("ETH", "nothing")  # dropping what is not there is harmless
