"""What a report request asks for: parsing and checking its parameters (any transport).

Every value arrives as text (an HTTP query string, or a UDP JSON value turned into text); every
refusal is a :class:`~trinity_beast.errors.BadRequest` whose message says what to send instead.
Times are clamped to the retention window: the current UTC day and the ``retention_days - 1``
days before it (docs/lrs.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from trinity_beast.api.assets import normalize_asset
from trinity_beast.errors import BadRequest

REPORTS = ("usage", "summary", "report-usage", "report-summary")
FORMATS = ("json", "csv", "tsv", "text")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_COMMON = frozenset({"start_date", "end_date", "status", "format"})
PARAMETERS: dict[str, frozenset[str]] = {
    "usage": _COMMON | {"asset", "limit", "cursor"},
    "summary": _COMMON | {"asset"},
    "report-usage": _COMMON | {"report_type", "limit", "cursor"},
    "report-summary": _COMMON | {"report_type"},
}
"""The parameters each report takes (besides the credentials, which the transport reads)."""

StatusFilter = int | Literal["ok", "error"]
_CURSOR_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: the page after it holds rows strictly older than (created_at, id)."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // _MICROSECOND
        raw = f"{micros}.{self.id}".encode("ascii")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            micros_text, _, row_id = raw.partition(".")
            created_at = _EPOCH + int(micros_text) * _MICROSECOND
        except (ValueError, binascii.Error, OverflowError) as exc:
            raise _invalid_cursor() from exc
        if not _CURSOR_ID.fullmatch(row_id) or not micros_text.isdigit():
            raise _invalid_cursor()
        return cls(created_at, row_id)


def _invalid_cursor() -> BadRequest:
    return BadRequest("'cursor' is not a cursor this service returned; send the next_cursor of "
                      "the previous page unchanged", code="invalid_cursor")


@dataclass(frozen=True, slots=True)
class ReportQuery:
    report: str
    format: str
    start: datetime
    """Inclusive, UTC, never before the retention window."""
    end: datetime
    """Exclusive, UTC, never after the end of the current day; ``end >= start``."""
    asset: str | None = None
    status: StatusFilter | None = None
    report_type: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None


def retention_window(now: datetime, retention_days: int) -> tuple[datetime, datetime]:
    """``[start, end)``: midnight ``retention_days - 1`` days ago to next midnight (UTC)."""
    today = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    return today - timedelta(days=retention_days - 1), today + timedelta(days=1)


def parse_query(report: str, params: Mapping[str, str], now: datetime, retention_days: int,
                *, credentials: Collection[str] = (),
                fixed_format: str | None = None) -> ReportQuery:
    """The checked query of ``report``; ``credentials`` are parameter names the transport
    already consumed (``api_key_id`` …), accepted and ignored here; ``fixed_format`` is the
    only format the transport serves (a ``format`` parameter may repeat it)."""
    allowed = PARAMETERS[report]
    unknown = sorted(set(params) - allowed - set(credentials))
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r} for {report}; it takes: "
                         f"{', '.join(sorted(allowed))}", code="unknown_parameter")
    first, last = retention_window(now, retention_days)
    start = _time(params, "start_date", end_of_day=False)
    end = _time(params, "end_date", end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise BadRequest("start_date must be before end_date", code="invalid_date")
    start = first if start is None else min(max(start, first), last)
    end = last if end is None else min(max(end, start), last)
    return ReportQuery(
        report=report, format=_format(params.get("format"), fixed_format), start=start, end=end,
        asset=normalize_asset(params["asset"]) if "asset" in params else None,
        status=_status(params.get("status")), report_type=_report_type(params.get("report_type")),
        limit=_limit(params.get("limit")),
        cursor=Cursor.decode(params["cursor"]) if params.get("cursor") else None,
    )


def _time(params: Mapping[str, str], name: str, *, end_of_day: bool) -> datetime | None:
    """A bare date means the whole day: its midnight as a start, the next midnight as an end."""
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=int(end_of_day)), datetime.min.time(),
                                    UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date (2026-06-20) or an RFC 3339 time "
                         f"(2026-06-20T12:00:00Z), got {text[:40]!r}", code="invalid_date") from exc
    if moment.tzinfo is None:
        raise BadRequest(f"{name} needs a time zone: end it with Z or an offset such as +00:00",
                         code="invalid_date")
    return moment.astimezone(UTC)


def _format(text: str | None, fixed: str | None) -> str:
    value = (text or fixed or "json").strip().lower()
    if fixed is not None and value != fixed:
        raise BadRequest(f"only format={fixed} is served here", code="invalid_format")
    if value not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}", code="invalid_format")
    return value


def _status(text: str | None) -> StatusFilter | None:
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    if value == "ok":
        return "ok"
    if value == "error":
        return "error"
    if _is_number(value, 3) and 100 <= int(value) <= 599:
        return int(value)
    raise BadRequest("status must be an HTTP status code (100-599), 'ok' (below 400) or "
                     "'error' (400 and above)", code="invalid_status")


def _is_number(text: str, max_digits: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def _report_type(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    if value not in REPORTS:
        raise BadRequest(f"report_type must be one of {', '.join(REPORTS)}",
                         code="invalid_report_type")
    return value


def _limit(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_LIMIT
    value = text.strip()
    if not _is_number(value, 4) or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}",
                         code="invalid_limit")
    return int(value)
