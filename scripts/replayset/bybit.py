"""Write ``src/trinity_beast/replay/default/bybit.jsonl``, the replay exchange's Bybit spot trades.

The frames are SYNTHESIZED, not recorded. Each one is the first recorded spot ``publicTrade``
frame of ``tests/fixtures/exchanges/bybit/fastmm_testnet_2026-09-13_ws_publicTrade.jsonl`` with
only the topic/symbol, price, size, trade id, sequence number and times replaced: keys, key order
and formatting are the template's. Prices are the illustrative reference prices below, moved by
a fixed pattern of small steps (the stepped walk of ``common.py``); they are not market data.
Every default prewarm asset of Bybit gets ``ROUNDS`` frames, interleaved. Deterministic: two runs
write the same bytes.

Run: ``.venv/bin/python scripts/replayset/bybit.py``
"""

from __future__ import annotations

from typing import Any

import common

TEMPLATE = common.FIXTURES / "bybit" / "fastmm_testnet_2026-09-13_ws_publicTrade.jsonl"

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "TON": "3.214", "WLD": "1.187", "APE": "0.6124", "BLUR": "0.1487", "IMX": "0.7123",
    "ENS": "21.34", "LDO": "1.123", "SNX": "0.8712", "COMP": "48.21", "1INCH": "0.2613",
    "SUSHI": "0.7312", "GALA": "0.01923", "MAGIC": "0.2134", "RDNT": "0.02812",
    "HOOK": "0.1812", "ID": "0.2312", "EDU": "0.1487", "CYBER": "1.412", "ARKM": "0.5812",
    "NTRN": "0.1612", "MAV": "0.05712", "SEI": "0.2871", "WOO": "0.07812", "AGLD": "0.8123",
}


def frame(template: dict[str, Any], index: int, asset: str, price: str, size: str) -> str:
    millis = common.trade_millis(index)
    symbol = f"{asset}USDT"
    trade = dict(template["data"][0])
    trade.update(i=str(2_290_000_000_000_000_000 + index * 3), T=millis, p=price, v=size,
                 seq=2_500_000_000 + index * 5, s=symbol)
    message = dict(template)
    message.update(topic=f"publicTrade.{symbol}", ts=millis + 36, data=[trade])
    return common.compact_json(message)


def main() -> None:
    template = common.read_template(TEMPLATE)
    trades = common.stepped_trades("bybit", "Bybit", REFERENCE_PRICES)
    common.write_frames("bybit", [frame(template, *trade) for trade in trades])


if __name__ == "__main__":
    main()
