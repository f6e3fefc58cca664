"""What a report returns: pages of rows and summaries, as JSON bodies and as tables.

The JSON bodies carry the envelope (``status``, ``status_code``, ``endpoint``) like every answer
of the service; the tables (CSV/TSV/text) carry only the data. Field order is the order of the
JSON keys and of the table columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from trinity_beast.lrs.filters import Cursor
from trinity_beast.lrs.formats import Cell, Column, Table
from trinity_beast.lrs.latency import Latency


class UsageRow(msgspec.Struct, frozen=True):
    """One priced request (``usage_logs``) of the caller."""

    created_at: str
    id: str
    asset: str | None
    assets_count: int
    source: str | None
    cache_tier: str | None
    response_time_us: int
    status: int
    endpoint: str | None
    protocol: str
    node: str | None


class ReportRow(msgspec.Struct, frozen=True):
    """One report call (``report_usage_logs``) of the caller."""

    created_at: str
    id: str
    report_type: str
    format: str
    status: int
    rows: int
    response_time_us: int
    protocol: str
    node: str | None


Row = UsageRow | ReportRow


def _columns(row_type: type[msgspec.Struct]) -> tuple[Column, ...]:
    """Table columns in field order; ``int`` fields are numbers (right-aligned as text)."""
    return tuple(Column(f.name, f.type is int) for f in msgspec.structs.fields(row_type))


ROW_COLUMNS: dict[type[msgspec.Struct], tuple[Column, ...]] = {
    UsageRow: _columns(UsageRow), ReportRow: _columns(ReportRow),
}


@dataclass(frozen=True, slots=True)
class Page:
    """Rows newest first, the keyset position of each, and whether older rows follow."""

    row_type: type[Row]
    rows: Sequence[Row]
    positions: Sequence[Cursor]
    more: bool

    @property
    def next_cursor(self) -> str | None:
        return self.positions[-1].encode() if self.more and self.positions else None

    def head(self, count: int) -> Page:
        """The first ``count`` rows; older rows follow when any were left out."""
        if count >= len(self.rows):
            return self
        return Page(self.row_type, self.rows[:count], self.positions[:count], True)

    def table(self) -> Table:
        return Table(ROW_COLUMNS[self.row_type],
                     [msgspec.structs.astuple(row) for row in self.rows])


class PageBody(msgspec.Struct, frozen=True):
    status: str
    status_code: int
    endpoint: str
    api_key_id: str
    count: int
    rows: Sequence[msgspec.Struct]
    next_cursor: str | None


def page_body(status: str, endpoint: str, key_id: str, page: Page) -> PageBody:
    return PageBody(status, 200, endpoint, key_id, len(page.rows), list(page.rows),
                    page.next_cursor)


class Group(msgspec.Struct, frozen=True):
    """One entry of a breakdown: ``key`` is null for requests without that attribute."""

    key: str | None
    count: int
    errors: int


class Quota(msgspec.Struct, frozen=True):
    """The LPO monthly query quota; ``limit``/``remaining`` null when unlimited."""

    limit: int | None
    used: int
    remaining: int | None


class Allowance(msgspec.Struct, frozen=True):
    """The LRS monthly report allowance; ``limit``/``remaining`` null when unlimited."""

    month: str
    limit: int | None
    used: int
    remaining: int | None


class Summary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/reports/summary`` (``quota`` set) or ``/reports/report-summary`` (``allowance`` set).

    ``breakdowns`` maps ``day``, ``asset``, ``source``, ``cache_tier``, ``status`` (usage) or
    ``day``, ``report_type``, ``format``, ``protocol``, ``status`` (reports) to their groups.
    ``truncated`` names the breakdowns shortened to fit a UDP datagram.
    """

    status: str
    status_code: int
    endpoint: str
    api_key_id: str
    start: str = msgspec.field(name="from")
    end: str = msgspec.field(name="to")
    count: int
    errors: int
    latency_us: Latency
    quota: Quota | None = None
    allowance: Allowance | None = None
    breakdowns: dict[str, list[Group]]
    truncated: list[str] | None = None

    def table(self) -> Table:
        return Table(SUMMARY_COLUMNS, list(_summary_rows(self)))


SUMMARY_COLUMNS = (Column("metric"), Column("key"), Column("value"))


def _summary_rows(summary: Summary) -> list[tuple[Cell, Cell, Cell]]:
    """The summary as ``metric, key, value`` rows (one table, easy to pivot)."""
    what = "requests" if summary.quota is not None else "reports"
    rows: list[tuple[Cell, Cell, Cell]] = [
        ("from", None, summary.start), ("to", None, summary.end),
        (what, None, summary.count), ("errors", None, summary.errors),
    ]
    for name, value in msgspec.structs.asdict(summary.latency_us).items():
        rows.append((f"latency_{name}_us", None, value))
    limits = summary.quota if summary.quota is not None else summary.allowance
    prefix = "quota" if summary.quota is not None else "allowance"
    if limits is not None:
        rows.extend((f"{prefix}_{name}", None, value)
                    for name, value in msgspec.structs.asdict(limits).items())
    for dimension, groups in summary.breakdowns.items():
        for group in groups:
            rows.append((f"{what}_by_{dimension}", group.key, group.count))
            rows.append((f"errors_by_{dimension}", group.key, group.errors))
    return rows
