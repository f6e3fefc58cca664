"""The monthly quota: UTC months, exhaustion, fresher records, the rollover."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.limits.conftest import MAY_2026, key_record
from trinity_beast.limits.quota import QuotaCounter, month_bounds

JUNE_1 = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC).timestamp()


def test_month_bounds_are_utc_calendar_months() -> None:
    assert month_bounds(MAY_2026) == (MAY_1, JUNE_1)
    assert month_bounds(JUNE_1 - 0.001) == (MAY_1, JUNE_1)
    assert month_bounds(JUNE_1) == (JUNE_1, datetime(2026, 7, 1, tzinfo=UTC).timestamp())
    december = datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp()
    assert month_bounds(december) == (datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
                                      datetime(2027, 1, 1, tzinfo=UTC).timestamp())


def test_the_quota_runs_out_and_says_when_the_month_ends() -> None:
    quota = QuotaCounter(key_record(query_limit=3, current_usage=1), 3, MAY_2026)
    for _ in range(2):
        assert quota.refused_for(MAY_2026) is None
        quota.count()
    assert quota.refused_for(MAY_2026) == JUNE_1 - MAY_2026


def test_the_next_month_starts_from_zero() -> None:
    quota = QuotaCounter(key_record(query_limit=2, current_usage=2), 2, MAY_2026)
    assert quota.refused_for(JUNE_1 - 1) == 1.0
    assert quota.refused_for(JUNE_1) is None
    assert quota.used == 0
    # A record written last month (not reset yet) does not count against this one.
    quota.observe(key_record(query_limit=2, current_usage=5, written=JUNE_1 - 10))
    assert quota.refused_for(JUNE_1 + 1) is None


def test_a_fresher_record_counts_our_admissions_once() -> None:
    quota = QuotaCounter(key_record(query_limit=100, current_usage=10), 100, MAY_2026)
    for _ in range(5):
        quota.count()
    assert quota.used == 15
    # The writer stored 3 of our 5 so far: nothing is counted twice, nothing is lost.
    quota.observe(key_record(query_limit=100, current_usage=13, written=MAY_2026 + 30))
    assert quota.used == 15
    # Other workers' and nodes' requests arrive through the database.
    quota.observe(key_record(query_limit=100, current_usage=40, written=MAY_2026 + 60))
    assert quota.used == 40


def test_a_lower_current_usage_is_a_reset() -> None:
    quota = QuotaCounter(key_record(query_limit=100, current_usage=90), 100, MAY_2026)
    quota.count()
    quota.observe(key_record(query_limit=100, current_usage=0, written=MAY_2026 + 30))
    assert quota.used == 0


def test_an_older_record_is_ignored_and_a_new_limit_applies() -> None:
    quota = QuotaCounter(key_record(query_limit=100, current_usage=50, written=MAY_2026), 100,
                         MAY_2026)
    quota.observe(key_record(query_limit=100, current_usage=0, written=MAY_2026 - 60))
    assert quota.used == 50
    quota.observe(key_record(query_limit=50, current_usage=50, written=MAY_2026 + 60))
    assert quota.limit == 50
    assert quota.refused_for(MAY_2026 + 60) == JUNE_1 - MAY_2026 - 60
