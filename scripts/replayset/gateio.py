"""Write ``src/trinity_beast/replay/default/gateio.jsonl``, the replay exchange's Gate.io trades.

The frames are SYNTHESIZED, not recorded. Each one is the recorded 2023 ``spot.trades`` frame
``tests/fixtures/exchanges/gateio/unattributed-id26134566678_2023-01-04_ws_spot_trades.jsonl``
with only the pair, price, amount, trade id and times replaced: keys, key order and formatting
are the template's. Prices are the illustrative reference prices below, moved by a fixed pattern
of small steps (the stepped walk of ``common.py``); they are not market data. Every default
prewarm asset of Gate.io gets ``ROUNDS`` frames, interleaved. Deterministic: two runs write the
same bytes.

Run: ``.venv/bin/python scripts/replayset/gateio.py``
"""

from __future__ import annotations

from typing import Any

import common

TEMPLATE = common.FIXTURES / "gateio" / "unattributed-id26134566678_2023-01-04_ws_spot_trades.jsonl"

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "BNB": "612.4", "TRX": "0.2431", "APT": "6.12", "INJ": "14.85", "OP": "0.742",
    "SUI": "3.215", "VET": "0.02412", "HBAR": "0.1873", "FTM": "0.4321", "CELR": "0.00912",
    "DENT": "0.000842", "HOT": "0.001215", "ONE": "0.01187", "REEF": "0.000412",
    "WIN": "0.0000571", "TFUEL": "0.03124", "STMX": "0.003812", "TROY": "0.001043",
    "VITE": "0.001852", "OAX": "0.1124", "PUNDIX": "0.3012", "ACH": "0.02134", "BEL": "0.3187",
    "CHESS": "0.0812",
}


def frame(template: dict[str, Any], index: int, asset: str, price: str, size: str) -> str:
    millis = common.trade_millis(index)
    trade = dict(template["result"])
    trade.update(id=9_400_000_000 + index * 13, create_time=millis // 1000,
                 create_time_ms=f"{millis}.{index * 7 % 10}", currency_pair=f"{asset}_USDT",
                 amount=size, price=price)
    message = dict(template)
    message.update(time=millis // 1000, time_ms=millis + 11, result=trade)
    return common.compact_json(message)


def main() -> None:
    template = common.read_template(TEMPLATE)
    trades = common.stepped_trades("gateio", "Gate.io", REFERENCE_PRICES)
    common.write_frames("gateio", [frame(template, *trade) for trade in trades])


if __name__ == "__main__":
    main()
