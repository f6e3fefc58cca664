"""Write ``src/trinity_beast/replay/default/gateio.jsonl``, the replay exchange's Gate.io trades.

The frames are SYNTHESIZED, not recorded. Each one is the recorded 2023 ``spot.trades`` frame
``tests/fixtures/exchanges/gateio/unattributed-id26134566678_2023-01-04_ws_spot_trades.jsonl``
with only the pair, price, amount, trade id and times replaced: keys, key order and formatting
are the template's. Prices are the illustrative reference prices below, moved by a fixed pattern
of small steps; they are not market data. Every default prewarm asset of Gate.io gets ``ROUNDS``
frames, interleaved. Deterministic: two runs write the same bytes.

Run: ``.venv/bin/python scripts/replayset/gateio.py``
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from trinity_beast.params.definitions import PREWARM_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "tests" / "fixtures" / "exchanges" / "gateio"
            / "unattributed-id26134566678_2023-01-04_ws_spot_trades.jsonl")
OUTPUT = ROOT / "src" / "trinity_beast" / "replay" / "default" / "gateio.jsonl"

# Illustrative USDT prices (order of magnitude of 2025-2026 quotes), not market data.
REFERENCE_PRICES = {
    "BNB": "612.4", "TRX": "0.2431", "APT": "6.12", "INJ": "14.85", "OP": "0.742",
    "SUI": "3.215", "VET": "0.02412", "HBAR": "0.1873", "FTM": "0.4321", "CELR": "0.00912",
    "DENT": "0.000842", "HOT": "0.001215", "ONE": "0.01187", "REEF": "0.000412",
    "WIN": "0.0000571", "TFUEL": "0.03124", "STMX": "0.003812", "TROY": "0.001043",
    "VITE": "0.001852", "OAX": "0.1124", "PUNDIX": "0.3012", "ACH": "0.02134", "BEL": "0.3187",
    "CHESS": "0.0812",
}
ROUNDS = 8
START_MS = 1_790_000_000_000  # 2026-09-21T14:13:20Z
STEP_MS = 250
STEPS_BPS = (0, 14, -9, 23, -17, 6, -4, 11, -21, 8, 3)  # price moves, basis points
NOTIONALS_USDT = (35, 120, 18, 640, 75, 260, 42, 1500, 95)
SIGNIFICANT_DIGITS = 5


def plain(number: Decimal) -> str:
    """Decimal text without exponent or trailing zeros (``0.00005710`` → ``0.0000571``)."""
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
    trade = dict(template["result"])
    trade.update(id=9_400_000_000 + index * 13, create_time=millis // 1000,
                 create_time_ms=f"{millis}.{index * 7 % 10}", currency_pair=f"{asset}_USDT",
                 amount=size, price=price)
    message = dict(template)
    message.update(time=millis // 1000, time_ms=millis + 11, result=trade)
    return json.dumps(message, separators=(",", ":"))


def frames(template: dict[str, Any]) -> list[str]:
    assets = [asset.upper() for asset in PREWARM_DEFAULTS["gateio"].split(",")]
    if set(assets) != set(REFERENCE_PRICES):
        raise SystemExit("REFERENCE_PRICES must list exactly the Gate.io prewarm assets")
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
    text = TEMPLATE.read_text(encoding="utf-8").strip()
    template = json.loads(text)
    if json.dumps(template, separators=(",", ":")) != text:
        raise SystemExit("the template does not survive a JSON round trip byte for byte")
    lines = frames(template)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} frames to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
