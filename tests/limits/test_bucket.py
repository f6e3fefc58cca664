"""The token bucket: burst, refill, minimum spacing, exact to the float."""

from __future__ import annotations

from trinity_beast.limits.bucket import RateLimits, TokenBucket

FREE = RateLimits(rate=1.0, burst=5, min_wait=1.0)


def takes(bucket: TokenBucket, limits: RateLimits, now: float, count: int) -> list[float | None]:
    return [bucket.take(now, limits) for _ in range(count)]


def test_burst_then_refill_at_the_rate() -> None:
    bucket = TokenBucket(5, 0.0)
    assert takes(bucket, FREE, 0.0, 5) == [None] * 5
    assert bucket.take(0.0, FREE) == 1.0
    assert bucket.take(0.5, FREE) == 0.5
    assert bucket.take(1.0, FREE) is None
    assert bucket.take(1.0, FREE) == 1.0
    assert bucket.take(2.0, FREE) is None
    assert bucket.take(2.25, FREE) == 0.75


def test_a_full_bucket_allows_the_burst_again() -> None:
    bucket = TokenBucket(5, 0.0)
    assert takes(bucket, FREE, 0.0, 6) == [None] * 5 + [1.0]
    assert takes(bucket, FREE, 100.0, 6) == [None] * 5 + [1.0]


def test_refill_is_exact_at_a_rate_of_three() -> None:
    demo = RateLimits(rate=3.0, burst=3)
    bucket = TokenBucket(3, 0.0)
    assert takes(bucket, demo, 0.0, 4) == [None, None, None, 1 / 3]
    assert bucket.take(1 / 3, demo) is None
    assert bucket.take(2 / 3, demo) is None
    assert bucket.take(1.0, demo) is None
    assert bucket.take(1.0, demo) == 1 / 3


def test_minimum_wait_spaces_admissions_once_the_burst_is_spent() -> None:
    limits = RateLimits(rate=2.0, burst=4, min_wait=1.0)
    bucket = TokenBucket(4, 0.0)
    assert takes(bucket, limits, 0.0, 4) == [None] * 4
    assert bucket.spaced
    # A token is there at 0.5 s, but the spacing holds the next admission until 1.0 s.
    assert bucket.take(0.5, limits) == 0.5
    assert bucket.take(1.0, limits) is None
    assert bucket.tokens == 1.0
    assert bucket.take(1.0, limits) == 1.0
    assert bucket.take(2.0, limits) is None
    assert bucket.tokens == 2.0
    # Full again at 3.0 s: the spacing ends and the whole burst is there.
    assert takes(bucket, limits, 3.0, 5) == [None] * 4 + [1.0]


def test_without_minimum_wait_only_tokens_count() -> None:
    limits = RateLimits(rate=10.0, burst=2)
    bucket = TokenBucket(2, 0.0)
    assert takes(bucket, limits, 0.0, 3) == [None, None, 0.1]
    assert takes(bucket, limits, 0.25, 3) == [None, None, 0.1]


def test_a_clock_that_goes_back_earns_nothing() -> None:
    bucket = TokenBucket(5, 10.0)
    assert takes(bucket, FREE, 10.0, 5) == [None] * 5
    assert bucket.take(9.0, FREE) == 2.0
    assert bucket.stamp == 10.0
    assert bucket.take(11.0, FREE) is None


def test_a_lower_cap_clips_the_tokens() -> None:
    bucket = TokenBucket(5, 0.0)
    assert bucket.take(0.0, FREE, cap=2) is None
    assert bucket.tokens == 1.0
    assert bucket.take(10.0, FREE, cap=2) is None
    assert bucket.tokens == 1.0


def test_grant_hands_out_whole_tokens_and_says_when_the_next_is_due() -> None:
    bucket = TokenBucket(5, 0.0)
    assert bucket.grant(0.0, 1.0, 5, 3) == 3
    assert bucket.grant(0.0, 1.0, 5, 3) == 2
    assert bucket.grant(0.5, 1.0, 5, 3) == 0
    assert bucket.tokens == 0.5
    assert bucket.next_token_in(1.0) == 0.5
    assert bucket.full_at(1.0, 5) == 5.0
    assert bucket.grant(1.0, 1.0, 5, 3) == 1
