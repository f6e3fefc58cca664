from __future__ import annotations

import pytest

from tests.prices.helpers import quote
from trinity_beast.prices.aggregate import NotEnoughProviders, median_aggregate


def test_median_with_outlier_excluded() -> None:
    quotes = [quote("BTC", "100", "coinbase-ws"), quote("BTC", "102", "kraken-ws"),
              quote("BTC", "101", "gemini-ws"), quote("BTC", "150", "okx-ws")]
    result = median_aggregate("BTC", quotes, min_providers=2, max_deviation_pct=5)
    assert result.median == 101.0
    assert result.providers == ("coinbase-ws", "gemini-ws", "kraken-ws")
    assert result.excluded == ("okx-ws",)


def test_not_enough_providers() -> None:
    with pytest.raises(NotEnoughProviders, match="1 fresh provider"):
        median_aggregate("BTC", [quote("BTC", "1")], min_providers=2, max_deviation_pct=5)
    with pytest.raises(NotEnoughProviders):
        median_aggregate("BTC", [], min_providers=1, max_deviation_pct=5)
