"""Write ``src/trinity_beast/replay/default/coinbase.jsonl``: synthetic Coinbase trade frames.

Every line is a ``market_trades`` frame built from one recorded frame
(``tests/fixtures/exchanges/coinbase/fastmm_2026-09-30_ws_market_trades.jsonl``, line 2): same
keys, order and formatting; only product, price, size, side, ids and times change. Prices
wander a little around the illustrative reference prices below (the random walk of
``common.py``; not market data). The output is deterministic: run
``.venv/bin/python scripts/replayset/coinbase.py``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import common

TEMPLATE = common.FIXTURES / "coinbase" / "fastmm_2026-09-30_ws_market_trades.jsonl"

REFERENCE_PRICES = {
    "BTC": "83000", "ETH": "2650", "SOL": "140", "DOGE": "0.165", "XRP": "2.1",
    "LINK": "13.5", "DOT": "4.1", "LTC": "85", "AVAX": "19.5", "UNI": "6.2",
    "PEPE": "0.0000075", "XLM": "0.27", "RNDR": "3.9", "JASMY": "0.0145", "ICP": "5.3",
    "EOS": "0.55", "EGLD": "15.2", "ZEC": "38", "ENJ": "0.075", "ANKR": "0.018",
    "LRC": "0.085", "SKL": "0.021", "COTI": "0.065", "RLC": "1.05",
}


def go_time(ts: float, digits: int) -> str:
    """RFC 3339 with Go's trimmed fraction (``02:39:59.4104Z``), as Coinbase writes it."""
    scale = 10**digits
    seconds, fraction = divmod(round(ts * scale), scale)
    text = f"{fraction:0{digits}d}".rstrip("0")
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + text if text else ''}Z"


def frames(template: dict[str, Any]) -> list[str]:
    rng = common.seeded_rng()
    assets = common.prewarm_assets("coinbase")
    trade_ids = {asset: 100_000_000 + 7_919 * n for n, asset in enumerate(assets)}
    lines: list[str] = []
    moment = common.START
    for asset in common.shuffled_rounds(rng, assets):
        reference = Decimal(REFERENCE_PRICES[asset])
        # About five significant digits, at least cents.
        price = common.drifted_price(rng, reference, common.price_decimals(reference, 5, 2, 10))
        size = common.random_amount(rng, reference, Decimal("1e-8"))
        trade_ids[asset] += rng.randint(1, 40)
        moment += rng.uniform(0.05, 0.6)
        frame = copy.deepcopy(template)
        frame["timestamp"] = go_time(moment + rng.uniform(0.1, 0.2), 9)
        frame["sequence_num"] = len(lines)
        trade = frame["events"][0]["trades"][0]
        trade.update(
            product_id=f"{asset}-USD", trade_id=str(trade_ids[asset]), price=common.plain(price),
            size=common.plain(size), time=go_time(moment, 6), side=rng.choice(("BUY", "SELL")),
        )
        lines.append(common.compact_json(frame))
    return lines


def main() -> None:
    common.write_frames("coinbase", frames(common.read_template(TEMPLATE, 1)))


if __name__ == "__main__":
    main()
