"""The admin guard: key checks and the per-IP attempt limit (a fake clock)."""

from __future__ import annotations

import pytest

from tests.admin.conftest import FakeClock
from trinity_beast.admin.guard import AdminGuard, AdminRateLimited
from trinity_beast.errors import Forbidden, Unauthorized
from trinity_beast.secrets import Secret


def test_key_checks() -> None:
    guard = AdminGuard(Secret("tbmc-admin-right"))
    guard.check_key("tbmc-admin-right")
    with pytest.raises(Unauthorized) as missing:
        guard.check_key(None)
    assert missing.value.code == "missing_admin_key"
    with pytest.raises(Unauthorized):
        guard.check_key("")
    with pytest.raises(Forbidden) as wrong:
        guard.check_key("tbmc-admin-wrong")
    assert wrong.value.code == "invalid_admin_key"


@pytest.mark.parametrize("configured", [None, Secret("")])
def test_no_key_configured_refuses_everything(configured: Secret | None) -> None:
    guard = AdminGuard(configured)
    assert not guard.enabled
    for presented in (None, "", "anything"):
        with pytest.raises(Forbidden) as refused:
            guard.check_key(presented)
        assert refused.value.code == "admin_disabled"


def test_one_hundred_attempts_per_five_minutes() -> None:
    clock = FakeClock()
    guard = AdminGuard(Secret("k"), clock=clock)
    assert [guard.admit("203.0.113.9") for _ in range(100)] == [0] * 100
    with pytest.raises(AdminRateLimited) as first:
        guard.admit("203.0.113.9")
    assert (first.value.first, first.value.retry_after, first.value.status) == (True, 3.0, 429)
    with pytest.raises(AdminRateLimited) as second:
        guard.admit("203.0.113.9")
    assert second.value.first is False
    assert guard.admit("198.51.100.1") == 0  # another client is not affected
    clock.now += 3.0
    assert guard.admit("203.0.113.9") == 2
    with pytest.raises(AdminRateLimited):
        guard.admit("203.0.113.9")


def test_idle_clients_are_forgotten_first() -> None:
    clock = FakeClock()
    guard = AdminGuard(Secret("k"), attempts=2, max_clients=2, clock=clock)
    guard.admit("a")
    guard.admit("a")  # a's bucket is empty
    guard.admit("b")
    clock.now += 150.0  # b refilled (2 per 300 s), a has one token back
    guard.admit("c")  # forgets b (idle), keeps a
    guard.admit("a")
    with pytest.raises(AdminRateLimited):
        guard.admit("a")
