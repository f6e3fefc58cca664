"""Shared test fixtures.

Integration tests talk to the real PostgreSQL (127.0.0.1:5432, database ``test``) and Redis
(127.0.0.1:6379). Outside CI a missing service skips those tests; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from trinity_beast.compiled import stale_sources

FIXTURES = Path(__file__).parent / "fixtures"
EXCHANGE_FIXTURES = FIXTURES / "exchanges"

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test a compiled hot path older than the sources (it would test old code)."""
    stale = stale_sources()
    if stale:
        pytest.exit(f"the compiled hot path is older than {', '.join(stale[:3])}: run `make test` "
                    "(it rebuilds), or `BEAST_PURE_PYTHON=1 make test` to test interpreted",
                    returncode=4)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (CI) when a real service the test needs is not running."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message} (CI=true: integration services are mandatory)")
    pytest.skip(message)


@pytest.fixture
def postgres_available() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


@pytest.fixture
def redis_available() -> None:
    require_service("Redis", "127.0.0.1", 6379)


def frames(path: Path) -> list[str]:
    """The frames of a ``.jsonl`` fixture, one per line, exactly as recorded."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
