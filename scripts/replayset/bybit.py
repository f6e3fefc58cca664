"""Write ``src/trinity_beast/replay/default/bybit.jsonl``, the replay exchange's Bybit spot trades.

The frames are SYNTHESIZED, not recorded. Each one is the first recorded spot ``publicTrade``
frame of ``tests/fixtures/exchanges/bybit/fastmm_testnet_2026-09-13_ws_publicTrade.jsonl`` with
only the topic/symbol, price, size, trade id, sequence number and times replaced: keys, key order
and formatting are the template's. Prices are the illustrative reference prices below, moved by
a fixed pattern of small steps; they are not market data. Every default prewarm asset of Bybit
gets ``ROUNDS`` frames, interleaved. Deterministic: two runs write the same bytes.

Run: ``.venv/bin/python scripts/replayset/bybit.py``
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "tests" / "fixtures" / "exchanges" / "bybit"
            / "fastmm_testnet_2026-09-13_ws_publicTrade.jsonl")
OUTPUT = ROOT / "src" / "trinity_beast" / "replay" / "default" / "bybit.jsonl"

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "TON": "3.214", "WLD": "1.187", "APE": "0.6124", "BLUR": "0.1487", "IMX": "0.7123",
    "ENS": "21.34", "LDO": "1.123", "SNX": "0.8712", "COMP": "48.21", "1INCH": "0.2613",
    "SUSHI": "0.7312", "GALA": "0.01923", "MAGIC": "0.2134", "RDNT": "0.02812",
    "HOOK": "0.1812", "ID": "0.2312", "EDU": "0.1487", "CYBER": "1.412", "ARKM": "0.5812",
    "NTRN": "0.1612", "MAV": "0.05712", "SEI": "0.2871", "WOO": "0.07812", "AGLD": "0.8123",
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
    symbol = f"{asset}USDT"
    trade = dict(template["data"][0])
    trade.update(i=str(2_290_000_000_000_000_000 + index * 3), T=millis, p=price, v=size,
                 seq=2_500_000_000 + index * 5, s=symbol)
    message = dict(template)
    message.update(topic=f"publicTrade.{symbol}", ts=millis + 36, data=[trade])
    return json.dumps(message, separators=(",", ":"))


def frames(template: dict[str, Any]) -> list[str]:
    assets = [asset.upper() for asset in PREWARM_DEFAULTS["bybit"].split(",")]
    if set(assets) != set(REFERENCE_PRICES):
        raise SystemExit("REFERENCE_PRICES must list exactly the Bybit prewarm assets")
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
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()[0]
    template = json.loads(text)
    if json.dumps(template, separators=(",", ":")) != text:
        raise SystemExit("the template does not survive a JSON round trip byte for byte")
    lines = frames(template)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} frames to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
