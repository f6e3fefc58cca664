"""Report parameters: dates and the 93-day window, filters, limits, cursors, refusals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from trinity_beast.errors import BadRequest
from trinity_beast.lrs.filters import Cursor, parse_query, retention_window

NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
WINDOW_START = datetime(2026, 3, 20, tzinfo=UTC)
WINDOW_END = datetime(2026, 6, 21, tzinfo=UTC)


def parse(params: dict[str, str], report: str = "usage", **kwargs: object) -> object:
    return parse_query(report, params, NOW, 93, **kwargs)  # type: ignore[arg-type]


def refused(params: dict[str, str], report: str = "usage") -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_query(report, params, NOW, 93)
    return caught.value


def test_the_window_is_today_and_the_92_days_before() -> None:
    assert retention_window(NOW, 93) == (WINDOW_START, WINDOW_END)
    assert retention_window(datetime(2026, 6, 20, 23, 59, 59, tzinfo=UTC), 1) == (
        datetime(2026, 6, 20, tzinfo=UTC), WINDOW_END)


def test_defaults_cover_the_whole_window() -> None:
    query = parse_query("usage", {}, NOW, 93)
    assert (query.start, query.end, query.format, query.limit) == (
        WINDOW_START, WINDOW_END, "json", 100)
    assert (query.asset, query.status, query.cursor, query.report_type) == (None, None, None, None)


def test_a_bare_date_means_the_whole_day() -> None:
    query = parse_query("usage", {"start_date": "2026-06-01", "end_date": "2026-06-01"}, NOW, 93)
    assert (query.start, query.end) == (datetime(2026, 6, 1, tzinfo=UTC),
                                        datetime(2026, 6, 2, tzinfo=UTC))


def test_rfc_3339_times_are_converted_to_utc() -> None:
    query = parse_query("summary", {"start_date": "2026-06-01T10:00:00+02:00",
                                    "end_date": "2026-06-01T12:30:00.5Z"}, NOW, 93)
    assert (query.start, query.end) == (datetime(2026, 6, 1, 8, tzinfo=UTC),
                                        datetime(2026, 6, 1, 12, 30, 0, 500000, tzinfo=UTC))


def test_times_are_clamped_to_the_window() -> None:
    query = parse_query("usage", {"start_date": "2025-01-01", "end_date": "2027-01-01"}, NOW, 93)
    assert (query.start, query.end) == (WINDOW_START, WINDOW_END)


def test_a_range_before_the_window_is_empty() -> None:
    query = parse_query("usage", {"start_date": "2026-01-01", "end_date": "2026-01-31"}, NOW, 93)
    assert query.start == query.end == WINDOW_START


def test_the_window_follows_retention_days() -> None:
    query = parse_query("usage", {}, NOW, 7)
    assert query.start == datetime(2026, 6, 14, tzinfo=UTC)


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"start_date": "yesterday"}, "invalid_date", "start_date must be a date (2026-06-20)"),
    ({"end_date": "2026-13-01"}, "invalid_date", "end_date must be a date"),
    ({"start_date": "2026-06-01T10:00:00"}, "invalid_date", "needs a time zone"),
    ({"start_date": "2026-06-02", "end_date": "2026-06-01"}, "invalid_date",
     "start_date must be before end_date"),
    ({"status": "teapot"}, "invalid_status", "'ok' (below 400)"),
    ({"status": "600"}, "invalid_status", "100-599"),
    ({"status": "²00"}, "invalid_status", "100-599"),
    ({"limit": "0"}, "invalid_limit", "from 1 to 1000"),
    ({"limit": "1001"}, "invalid_limit", "from 1 to 1000"),
    ({"limit": "ten"}, "invalid_limit", "from 1 to 1000"),
    ({"limit": "9" * 5000}, "invalid_limit", "from 1 to 1000"),
    ({"format": "xml"}, "invalid_format", "json, csv, tsv, text"),
    ({"asset": "BTC'; DROP TABLE usage_logs;--"}, "invalid_asset", "letters or digits"),
    ({"cursor": "not a cursor"}, "invalid_cursor", "next_cursor of the previous page"),
    ({"start": "2026-06-01"}, "unknown_parameter", "unknown parameter 'start' for usage"),
])
def test_bad_parameters_are_refused_with_a_clear_message(
        params: dict[str, str], code: str, words: str) -> None:
    error = refused(params)
    assert error.code == code
    assert words in error.message


def test_each_report_takes_its_own_parameters() -> None:
    assert refused({"asset": "BTC"}, "report-usage").message == (
        "unknown parameter 'asset' for report-usage; it takes: cursor, end_date, format, limit, "
        "report_type, start_date, status")
    assert refused({"limit": "5"}, "summary").code == "unknown_parameter"
    assert refused({"report_type": "usage"}, "usage").code == "unknown_parameter"
    assert refused({"report_type": "nope"}, "report-summary").code == "invalid_report_type"


def test_filters_are_normalised() -> None:
    query = parse_query("usage", {"asset": " btc ", "status": "ERROR", "limit": "1000",
                                  "format": "CSV"}, NOW, 93)
    assert (query.asset, query.status, query.limit, query.format) == ("BTC", "error", 1000, "csv")
    assert parse_query("usage", {"status": "404"}, NOW, 93).status == 404
    assert parse_query("report-usage", {"report_type": "Summary"}, NOW, 93).report_type == (
        "summary")


def test_credentials_are_accepted_and_ignored() -> None:
    query = parse_query("usage", {"api_key_id": "x"}, NOW, 93, credentials=("api_key_id",))
    assert query.asset is None
    assert refused({"api_key_id": "x"}).code == "unknown_parameter"


def test_a_fixed_format_is_used_and_may_be_repeated() -> None:
    assert parse_query("usage", {}, NOW, 93, fixed_format="csv").format == "csv"
    assert parse_query("usage", {"format": "csv"}, NOW, 93, fixed_format="csv").format == "csv"
    with pytest.raises(BadRequest, match="only format=json is served here"):
        parse_query("usage", {"format": "csv"}, NOW, 93, fixed_format="json")


def test_cursor_round_trip_is_exact_to_the_microsecond() -> None:
    cursor = Cursor(datetime(2026, 6, 20, 11, 59, 59, 123456, tzinfo=UTC), "0af3" * 8)
    text = cursor.encode()
    assert text.isascii()
    assert "=" not in text
    assert Cursor.decode(text) == cursor
    assert parse_query("usage", {"cursor": text}, NOW, 93).cursor == cursor


@pytest.mark.parametrize("raw", [b"1.", b"x.abc", b"-5.abc", b"12.a b", b"12.abc/../", b"1e9.a",
                                 b"99999999999999999999999.a", b"12"])
def test_tampered_cursors_are_refused(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert refused({"cursor": text}).code == "invalid_cursor"
