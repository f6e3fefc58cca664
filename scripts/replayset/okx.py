"""Write ``src/trinity_beast/replay/default/okx.jsonl``, the replay exchange's OKX spot trades.

The frames are SYNTHESIZED, not recorded. Each one is the first recorded BTC-USDT spot ``trades``
frame of ``tests/fixtures/exchanges/okx/cryptofeed_2022-05-13_ws_trades.jsonl`` (its third line)
with only the instrument, price, size, trade id and time replaced: keys, key order and formatting
are the template's. Prices are the illustrative reference prices below, moved by a fixed pattern
of small steps (the stepped walk of ``common.py``); they are not market data. Every default
prewarm asset of OKX gets ``ROUNDS`` frames, interleaved. Deterministic: two runs write the same
bytes.

Run: ``.venv/bin/python scripts/replayset/okx.py``
"""

from __future__ import annotations

from typing import Any

import common

TEMPLATE = common.FIXTURES / "okx" / "cryptofeed_2022-05-13_ws_trades.jsonl"
TEMPLATE_LINE = 2  # zero-based: the first BTC-USDT spot trade of the recording

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "KAS": "0.08712", "TIA": "2.871", "JUP": "0.5123", "STRK": "0.1412", "PYTH": "0.1512",
    "W": "0.0912", "ZRO": "2.312", "PENDLE": "4.123", "ONDO": "0.9123", "RENDER": "3.812",
    "WIF": "0.8712", "FLOKI": "0.0000912", "PEOPLE": "0.01923", "MASK": "1.312",
    "LOOKS": "0.02312", "HIGH": "0.6123", "RSS3": "0.04123", "PERP": "0.2812",
    "BADGER": "1.812", "ALCX": "9.123", "FXS": "2.312", "TRIBE": "0.3812", "ALPHA": "0.03412",
    "DODO": "0.05812",
}


def frame(template: dict[str, Any], index: int, asset: str, price: str, size: str) -> str:
    millis = common.trade_millis(index)
    inst_id = f"{asset}-USDT"
    trade = dict(template["data"][0])
    trade.update(instId=inst_id, tradeId=str(400_000_000 + index * 3), px=price, sz=size,
                 ts=str(millis))
    message = dict(template)
    message.update(arg=dict(template["arg"], instId=inst_id), data=[trade])
    return common.compact_json(message)


def main() -> None:
    template = common.read_template(TEMPLATE, TEMPLATE_LINE)
    trades = common.stepped_trades("okx", "OKX", REFERENCE_PRICES)
    common.write_frames("okx", [frame(template, *trade) for trade in trades])


if __name__ == "__main__":
    main()
