"""The CLI against PostgreSQL + Valkey: changes are announced to running nodes.

Key changes publish the key id on ``{prefix}keys:invalidate``; parameter changes rewrite
``{prefix}app:config`` from the database and publish the names on ``{prefix}params:changed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.client import PubSub

from tests.db.backends import shared_stores_env
from trinity_beast.cli import main


@pytest.fixture
def shared(postgres_available: None, redis_available: None,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Redis, str]]:
    """Env for a fresh PostgreSQL schema and a unique Valkey prefix; yields (client, prefix)."""
    with shared_stores_env(monkeypatch) as shared:
        yield shared


def _next_message(pubsub: PubSub) -> str:
    for _ in range(50):
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            return str(message["data"])
    raise AssertionError("no message published")


def test_migrate_on_postgres(shared: tuple[Redis, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"postgresql://postgres@127\.0\.0\.1:5432/test\?schema=beast_test_\w+ is at "
                    r"revision 0002\n", out)


def test_key_changes_are_announced(shared: tuple[Redis, str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    client, prefix = shared
    assert main(["migrate"]) == 0
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(f"{prefix}keys:invalidate")
    try:
        assert main(["keys", "create", "--tier", "enterprise"]) == 0
        key_id = re.findall(r"ak_live_[0-9a-f]{12}", capsys.readouterr().err)[0]
        assert _next_message(pubsub) == key_id
        assert main(["keys", "revoke", key_id]) == 0
        assert _next_message(pubsub) == key_id
        assert main(["keys", "set-tier", key_id, "pro"]) == 0
        assert _next_message(pubsub) == key_id
    finally:
        pubsub.close()


def test_param_changes_rewrite_app_config_and_are_announced(
        shared: tuple[Redis, str], capsys: pytest.CaptureFixture[str]) -> None:
    client, prefix = shared
    assert main(["migrate"]) == 0
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(f"{prefix}params:changed")
    try:
        assert main(["params", "set", "cache_ttl_seconds", "21"]) == 0
        assert _next_message(pubsub) == "cache_ttl_seconds"
        config = client.hgetall(f"{prefix}app:config")
        assert config["cache_ttl_seconds"] == "21"
        assert config["adaptive_max_concurrent"] == "6000"
        assert main(["params", "profile", "debug"]) == 0
        assert _next_message(pubsub) == "burst,log_level,qps"
        assert client.hget(f"{prefix}app:config", "log_level") == "debug"
    finally:
        pubsub.close()
    capsys.readouterr()
