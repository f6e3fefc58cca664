from __future__ import annotations

import pytest

from trinity_beast.prices.quote import InvalidPrice, checked_price, parse_rfc3339, rfc3339


@pytest.mark.parametrize("text", ["83371.08000", "5.1e-05", "0.00000001", "118837.0", "1"])
def test_checked_price_keeps_every_digit(text: str) -> None:
    assert checked_price(text)[0] == text


def test_checked_price_accepts_raw_json_number_bytes() -> None:
    assert checked_price(b"77140.5") == ("77140.5", 77140.5)


@pytest.mark.parametrize("bad", ["", "abc", "0", "0.000", "-1.5", "NaN", "Infinity", " 1", "+1",
                                 None, 12.5])
def test_checked_price_refuses(bad: object) -> None:
    with pytest.raises(InvalidPrice):
        checked_price(bad)


def test_parse_rfc3339_nanoseconds() -> None:
    assert parse_rfc3339("2026-09-30T12:00:00.123456789Z") == pytest.approx(1790769600.123456789)
    assert parse_rfc3339("2026-09-30T12:00:00Z") == 1790769600.0
    assert parse_rfc3339("2026-09-30T14:00:00.5+02:00") == 1790769600.5


def test_rfc3339_milliseconds() -> None:
    assert rfc3339(1790769600.1239) == "2026-09-30T12:00:00.123Z"
