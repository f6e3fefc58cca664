"""Write ``src/trinity_beast/replay/default/okx.jsonl``, the replay exchange's OKX spot trades.

The frames are SYNTHESIZED, not recorded. Each one is the first recorded BTC-USDT spot ``trades``
frame of ``tests/fixtures/exchanges/okx/cryptofeed_2022-05-13_ws_trades.jsonl`` (its third line)
with only the instrument, price, size, trade id and time replaced: keys, key order and formatting
are the template's. Prices are the illustrative reference prices below, moved by a fixed pattern
of small steps; they are not market data. Every default prewarm asset of OKX gets ``ROUNDS``
frames, interleaved. Deterministic: two runs write the same bytes.

Run: ``.venv/bin/python scripts/replayset/okx.py``
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "tests" / "fixtures" / "exchanges" / "okx"
            / "cryptofeed_2022-05-13_ws_trades.jsonl")
TEMPLATE_LINE = 2  # zero-based: the first BTC-USDT spot trade of the recording
OUTPUT = ROOT / "src" / "trinity_beast" / "replay" / "default" / "okx.jsonl"

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "KAS": "0.08712", "TIA": "2.871", "JUP": "0.5123", "STRK": "0.1412", "PYTH": "0.1512",
    "W": "0.0912", "ZRO": "2.312", "PENDLE": "4.123", "ONDO": "0.9123", "RENDER": "3.812",
    "WIF": "0.8712", "FLOKI": "0.0000912", "PEOPLE": "0.01923", "MASK": "1.312",
    "LOOKS": "0.02312", "HIGH": "0.6123", "RSS3": "0.04123", "PERP": "0.2812",
    "BADGER": "1.812", "ALCX": "9.123", "FXS": "2.312", "TRIBE": "0.3812", "ALPHA": "0.03412",
    "DODO": "0.05812",
}
ROUNDS = 8
START_MS = 1_790_000_000_000  # 2026-09-21T14:13:20Z
STEP_MS = 250
STEPS_BPS = (0, 14, -9, 23, -17, 6, -4, 11, -21, 8, 3)  # price moves, basis points
NOTIONALS_USDT = (35, 120, 18, 640, 75, 260, 42, 1500, 95)
SIGNIFICANT_DIGITS = 5


def plain(number: Decimal) -> str:
    """Decimal text without exponent or trailing zeros (``0.05710`` → ``0.0571``)."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def price_text(reference: str, bps: int) -> str:
    value = Decimal(reference) * (10_000 + bps) / 10_000
    exponent = min(value.adjusted() - (SIGNIFICANT_DIGITS - 1), 0)
    return plain(value.quantize(Decimal(1).scaleb(exponent)))


def size_text(notional: int, price: str) -> str:
    amount = Decimal(notional) / Decimal(price)
    return plain(amount.quantize(Decimal("0.0001") if amount < 1000 else Decimal(1)))


def frame(template: dict[str, Any], index: int, asset: str, price: str, size: str) -> str:
    millis = START_MS + index * STEP_MS + (index * 37) % 90
    inst_id = f"{asset}-USDT"
    trade = dict(template["data"][0])
    trade.update(instId=inst_id, tradeId=str(400_000_000 + index * 3), px=price, sz=size,
                 ts=str(millis))
    message = dict(template)
    message.update(arg=dict(template["arg"], instId=inst_id), data=[trade])
    return json.dumps(message, separators=(",", ":"))


def frames(template: dict[str, Any]) -> list[str]:
    assets = [asset.upper() for asset in PREWARM_DEFAULTS["okx"].split(",")]
    if set(assets) != set(REFERENCE_PRICES):
        raise SystemExit("REFERENCE_PRICES must list exactly the OKX prewarm assets")
    lines: list[str] = []
    for round_number in range(ROUNDS):
        shift = round_number * 5 % len(assets)
        for position, asset in enumerate(assets[shift:] + assets[:shift]):
            index = len(lines)
            bps = STEPS_BPS[(round_number + position) % len(STEPS_BPS)]
            price = price_text(REFERENCE_PRICES[asset], bps)
            size = size_text(NOTIONALS_USDT[index % len(NOTIONALS_USDT)], price)
            lines.append(frame(template, index, asset, price, size))
    return lines


def main() -> None:
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()[TEMPLATE_LINE]
    template = json.loads(text)
    if json.dumps(template, separators=(",", ":")) != text:
        raise SystemExit("the template does not survive a JSON round trip byte for byte")
    lines = frames(template)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} frames to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
