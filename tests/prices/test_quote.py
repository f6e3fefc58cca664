from __future__ import annotations

from datetime import UTC, datetime

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


@pytest.mark.parametrize("ts", [
    0.0, 1.0, -1.5, -0.0000004, -0.9999996, 1790769599.9999996, 1790769599.9999994,
    1790769600.0000005, 1790769600.0000015, 1790769600.9995, 253402300799.999,
    *(1790769600 + step * 0.0173 for step in range(200)),
])
def test_rfc3339_matches_datetime(ts: float) -> None:
    """The second cache and the rounding give exactly ``datetime.fromtimestamp``'s digits,
    also where the microsecond rounding carries into the next second."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    assert rfc3339(ts) == expected
    assert rfc3339(ts) == expected  # the cached second too
