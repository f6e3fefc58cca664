"""CSV, TSV and text renderings, byte for byte: quoting, escaping, empty values, no rows."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from trinity_beast.lrs.formats import Column, Table, filename, render, to_csv, to_text, to_tsv

COLUMNS = (Column("name"), Column("count", numeric=True), Column("note"))
TRICKY = Table(COLUMNS, [
    ("plain", 1, None),
    ("comma,inside", 22, 'say "hi"'),
    ("line\nbreak", 333, "cr\rlf\r\n"),
    ("tab\there", -4, "back\\slash"),
    ("", 0, "ünïcödé"),
])
EMPTY = Table(COLUMNS, [])


def test_csv_quotes_per_rfc_4180() -> None:
    assert to_csv(TRICKY) == (
        b'name,count,note\r\n'
        b'plain,1,\r\n'
        b'"comma,inside",22,"say ""hi"""\r\n'
        b'"line\nbreak",333,"cr\rlf\r\n"\r\n'
        b'tab\there,-4,back\\slash\r\n'
        b',0,\xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9\r\n'
    )


def test_csv_reads_back_with_the_csv_module() -> None:
    text = to_csv(TRICKY).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [
        ["plain", "1", ""], ["comma,inside", "22", 'say "hi"'],
        ["line\nbreak", "333", "cr\rlf\r\n"], ["tab\there", "-4", "back\\slash"],
        ["", "0", "ünïcödé"],
    ]


def test_csv_of_no_rows_is_the_header_line() -> None:
    assert to_csv(EMPTY) == b"name,count,note\r\n"


def test_tsv_escapes_backslash_tab_and_line_ends() -> None:
    assert to_tsv(TRICKY) == (
        b"name\tcount\tnote\n"
        b"plain\t1\t\n"
        b'comma,inside\t22\tsay "hi"\n'
        b"line\\nbreak\t333\tcr\\rlf\\r\\n\n"
        b"tab\\there\t-4\tback\\\\slash\n"
        b"\t0\t\xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9\n"
    )


def test_tsv_of_no_rows_is_the_header_line() -> None:
    assert to_tsv(EMPTY) == b"name\tcount\tnote\n"


def test_text_aligns_columns_and_right_aligns_numbers() -> None:
    table = Table(COLUMNS, [("BTC", 5, None), ("a longer name", 1234, "x")])
    assert to_text(table) == (
        b"name           count  note\n"
        b"-------------  -----  ----\n"
        b"BTC                5  -\n"
        b"a longer name   1234  x\n"
    )


def test_text_escapes_control_characters() -> None:
    table = Table((Column("v"),), [("a\tb\nc\x1b[31m\\",)])
    assert to_text(table) == b"v\n-----------------\na\\tb\\nc\\x1b[31m\\\\\n"


def test_text_of_no_rows_says_so() -> None:
    assert to_text(EMPTY) == b"name  count  note\n----  -----  ----\n(no rows)\n"


@pytest.mark.parametrize(("fmt", "expected"), [
    ("csv", b"name,count,note\r\n"), ("tsv", b"name\tcount\tnote\n"),
    ("text", b"name  count  note\n----  -----  ----\n(no rows)\n"),
])
def test_render_picks_the_format(fmt: str, expected: bytes) -> None:
    assert render(fmt, EMPTY) == expected


def test_render_refuses_json() -> None:
    with pytest.raises(ValueError, match="json"):
        render("json", EMPTY)


@pytest.mark.parametrize(("fmt", "name"), [
    ("csv", "usage-ak_live_0123456789ab-2026-06-20.csv"),
    ("tsv", "usage-ak_live_0123456789ab-2026-06-20.tsv"),
    ("text", "usage-ak_live_0123456789ab-2026-06-20.txt"),
    ("json", "usage-ak_live_0123456789ab-2026-06-20.json"),
])
def test_filename_names_report_key_and_day(fmt: str, name: str) -> None:
    assert filename("usage", "ak_live_0123456789ab", date(2026, 6, 20), fmt) == name


def test_filename_keeps_only_safe_characters_of_the_key_id() -> None:
    assert filename("summary", 'ak"/../x', date(2026, 1, 2), "csv") == "summary-akx-2026-01-02.csv"
