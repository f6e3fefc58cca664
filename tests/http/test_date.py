from __future__ import annotations

from trinity_beast.http.date import Clock, date_line


def test_date_line_is_imf_fixdate() -> None:
    assert date_line(784111777) == b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"


def test_clock_reads_the_given_time_source() -> None:
    now = [100.0]
    clock = Clock(lambda: now[0])
    assert clock.now == 100.0
    now[0] = 101.5
    assert clock.now == 100.0  # cached until refreshed
    clock.refresh()
    assert clock.now == 101.5
    assert clock.date_line.startswith(b"Date: ")
    assert clock.date_line.endswith(b" GMT\r\n")
    clock.use(lambda: 7.0)
    assert clock.now == 7.0
