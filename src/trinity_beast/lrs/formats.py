"""Rendering a report table as CSV, TSV or plain text (pure functions, exact bytes).

* **CSV** (RFC 4180): a header line, CRLF after every line; a field holding a comma, a double
  quote, CR or LF is enclosed in double quotes with its quotes doubled; an empty value is empty.
* **TSV** (IANA ``text/tab-separated-values``): a header line, LF after every line; a
  backslash, tab, LF and CR in a value are written ``\\\\``, ``\\t``, ``\\n``, ``\\r``; an empty
  value is empty.
* **Text**: columns padded to their widest value and separated by two spaces, numbers right-
  aligned, a dashed rule under the header, ``-`` for an empty value, ``(no rows)`` when there
  are none; control characters are written as escapes so a value can never move the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

Cell = str | int | None

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}
EXTENSIONS = {"json": "json", "csv": "csv", "tsv": "tsv", "text": "txt"}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[Cell]]


def render(fmt: str, table: Table) -> bytes:
    """``table`` as ``csv``, ``tsv`` or ``text``."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "tsv":
        return to_tsv(table)
    if fmt == "text":
        return to_text(table)
    raise ValueError(f"no table rendering for format {fmt!r}")


def filename(report: str, key_id: str, day: date, fmt: str) -> str:
    """``usage-ak_live_0123456789ab-2026-06-20.csv``: the report, the key id and the day."""
    safe_key = "".join(c for c in key_id if c.isascii() and (c.isalnum() or c in "_-"))
    return f"{report}-{safe_key}-{day.isoformat()}.{EXTENSIONS[fmt]}"


def to_csv(table: Table) -> bytes:
    lines = [",".join(_csv_field(c.name) for c in table.columns)]
    lines.extend(",".join(_csv_field(cell) for cell in row) for row in table.rows)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _csv_field(cell: Cell) -> str:
    if cell is None:
        return ""
    text = str(cell)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def to_tsv(table: Table) -> bytes:
    lines = ["\t".join(_tsv_field(c.name) for c in table.columns)]
    lines.extend("\t".join(_tsv_field(cell) for cell in row) for row in table.rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _tsv_field(cell: Cell) -> str:
    return "" if cell is None else str(cell).translate(_TSV_ESCAPES)


_TEXT_ESCAPES = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)},
    **{ord(k): v for k, v in {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}.items()},
}


def to_text(table: Table) -> bytes:
    cells = [[_text_field(cell) for cell in row] for row in table.rows]
    widths = [max([len(column.name), *(len(row[i]) for row in cells)])
              for i, column in enumerate(table.columns)]

    def line(values: Sequence[str]) -> str:
        padded = (value.rjust(width) if column.numeric else value.ljust(width)
                  for value, width, column in zip(values, widths, table.columns, strict=True))
        return "  ".join(padded).rstrip()

    lines = [line([c.name for c in table.columns]), "  ".join("-" * w for w in widths)]
    lines.extend(line(row) for row in cells)
    if not cells:
        lines.append("(no rows)")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _text_field(cell: Cell) -> str:
    return "-" if cell is None else str(cell).translate(_TEXT_ESCAPES)
