"""Tier 3 failures carry a short reason a caller can read, never a driver's repr."""

from __future__ import annotations

import pytest

from tests.redis_process import free_port
from trinity_beast.feeds.registry import adapters
from trinity_beast.prices.rest import RestClient, RestUnavailable


async def test_an_unreachable_exchange_is_named_in_the_reason() -> None:
    port = free_port()  # nothing listens there
    client = RestClient(adapters(), {"okx": f"http://127.0.0.1:{port}"}, timeout=lambda: 2.0)
    try:
        with pytest.raises(RestUnavailable) as failure:
            await client.ticker("okx", "BTC")
    finally:
        await client.close()
    assert str(failure.value) == f"okx BTC: cannot connect to 127.0.0.1:{port}"
    assert failure.value.reason == f"cannot connect to 127.0.0.1:{port}"
