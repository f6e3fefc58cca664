"""Write ``src/trinity_beast/replay/default/kraken.jsonl``: synthetic Kraken v2 trade frames.

Every line is a ``trade`` update built from one recorded frame
(``tests/fixtures/exchanges/kraken/unattributed-id6404436662_2025-07-23_ws_trade_BTC-USDT.jsonl``,
the one whose key order is Kraken's own): same keys, order and formatting; prices and
quantities stay JSON numbers. Only symbol, side, price, quantity, order type, trade id and
time change; every fourth frame batches two trades of one asset, as Kraken does. Prices
wander a little around the illustrative reference prices below (the random walk of
``common.py``; not market data). The output is deterministic: run
``.venv/bin/python scripts/replayset/kraken.py``.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import common
import msgspec

from trinity_beast.feeds.kraken import ADAPTER

TEMPLATE = (common.FIXTURES / "kraken"
            / "unattributed-id6404436662_2025-07-23_ws_trade_BTC-USDT.jsonl")

REFERENCE_PRICES = {
    "NANO": "0.95", "SC": "0.0035", "LSK": "0.45", "KAVA": "0.38", "BICO": "0.11",
    "RARI": "0.9", "OCEAN": "0.28", "CFG": "0.3", "CQT": "0.004", "ALGO": "0.13",
    "FET": "0.65", "FLOW": "0.38", "MINA": "0.22", "GLMR": "0.07", "MOVR": "5.8",
    "KSM": "15", "ASTR": "0.025", "PHALA": "0.11", "NODL": "0.0012", "PARA": "0.005",
    "KILT": "0.012", "ACA": "0.035", "TEER": "0.15", "LIT": "0.4",
}
ENCODER = msgspec.json.Encoder(decimal_format="number")
"""Writes ``Decimal`` as a JSON number with exactly its digits (``0.13110``)."""


def encode(frame: dict[str, Any]) -> str:
    return ENCODER.encode(frame).decode()


def trade(
    template: dict[str, Any], rng: random.Random, asset: str, moment: float
) -> dict[str, Any]:
    reference = Decimal(REFERENCE_PRICES[asset])
    # Drawn in this order (price, side, quantity, order type): the draws make the replay set.
    # About five significant digits, as Kraken's pair precisions are (``0.13110``).
    price = common.drifted_price(rng, reference, common.price_decimals(reference, 5, 1, 10))
    side = rng.choice(("buy", "sell"))
    qty = common.random_amount(rng, reference, Decimal("1e-8"))
    entry: dict[str, Any] = copy.deepcopy(template)
    entry.update(
        symbol=ADAPTER.symbol(asset), side=side, price=price, qty=qty,
        ord_type=rng.choice(("limit", "market")),
        timestamp=f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%dT%H:%M:%S.%f}Z",
    )
    return entry


def frames(template: dict[str, Any]) -> list[str]:
    rng = common.seeded_rng()
    assets = common.prewarm_assets("kraken")
    trade_ids = {asset: 9_622_656 + 104_729 * n for n, asset in enumerate(assets)}
    moment = common.START
    lines: list[str] = []
    for asset in common.shuffled_rounds(rng, assets):
        moment += rng.uniform(0.05, 0.6)
        batch = 2 if len(lines) % 4 == 3 else 1
        data = [trade(template["data"][0], rng, asset, moment) for _ in range(batch)]
        for entry in data:
            trade_ids[asset] += 1
            entry["trade_id"] = trade_ids[asset]
        lines.append(encode({**template, "data": data}))
    return lines


def main() -> None:
    decimal_json = partial(json.loads, parse_float=Decimal)
    template = common.read_template(TEMPLATE, decode=decimal_json, encode=encode)
    common.write_frames("kraken", frames(template))


if __name__ == "__main__":
    main()
