"""``beast sync [--full]`` end to end: SQLite without Valkey, PostgreSQL with Valkey, and a
Valkey that cannot be reached (one line on stderr, exit code 1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.db.backends import shared_stores_env
from trinity_beast.cli import main
from trinity_beast.params.definitions import PARAMS

TIMING = re.compile(r" \[\d+ ms\]$")
CLEAN_ENV = ("REDIS_URL", "BEAST_REDIS_PREFIX", "BEAST_SECRETS_FILE", "BEAST_SEED_DEMO_KEY",
             "DB_HOST", "DB_PASSWORD", "ADMIN_API_KEY", "DATABASE_URL")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """Exit code, stdout lines without their timings, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [TIMING.sub("", line) for line in out.splitlines()], err


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_sqlite_without_valkey(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'beast.db'}")
    clean_env.setenv("BEAST_SEED_DEMO_KEY", "false")
    code, lines, err = run(capsys, "sync")
    assert (code, err) == (0, "")
    assert lines[0].startswith("monthly reset: ")
    assert re.fullmatch(r"retention: 0 usage logs and 0 report usage logs created before "
                        r"\d{4}-\d\d-\d\d deleted", lines[1])
    assert lines[2] == "usage rollup: 92 days rolled up, rolled through " + lines[2][-10:]
    assert lines[3:8] == [f"{name}: skipped: no Valkey configured (REDIS_URL)" for name in (
        "api keys", "parameters", "usage index", "report usage", "index retention")]
    assert re.fullmatch(r"sync done in \d+\.\d\d s", lines[8])


@pytest.fixture
def shared_env(postgres_available: None, redis_available: None,
               clean_env: pytest.MonkeyPatch) -> Iterator[tuple[Redis, str]]:
    with shared_stores_env(clean_env) as shared:
        yield shared


def test_postgres_and_valkey_full_then_incremental(
        shared_env: tuple[Redis, str], capsys: pytest.CaptureFixture[str]) -> None:
    client, prefix = shared_env
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "params", "set", "retention_days", "30")[0] == 0
    code, lines, err = run(capsys, "sync", "--full")
    assert (code, err) == (0, "")
    assert lines[1].startswith("retention: ")
    assert lines[3:8] == [
        "api keys: full, 1 keys", f"parameters: {len(PARAMS)} values in app:config",
        "usage index: full, 0 rows", "report usage: full, 0 rows of 0 keys",
        "index retention: 0 index members before " + lines[7][-18:-8] + " removed"]
    assert client.hget(f"{prefix}app:config", "retention_days") == "30"
    assert len(list(client.scan_iter(match=f"{prefix}apikey:*"))) == 1

    code, lines, _ = run(capsys, "sync")
    assert code == 0
    assert lines[3] == "api keys: incremental, 1 keys"


def test_unreachable_valkey_is_a_user_error(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'beast.db'}")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    code = main(["sync"])
    out, err = capsys.readouterr()
    assert code == 1
    assert re.fullmatch(r"beast: error: Valkey [A-Z /]+ failed: Error 111 .*\n", err)
    assert out == ""
