"""``beast migrate|keys|params|config`` end to end on a SQLite file (the embedded default)."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest

from trinity_beast.cli import main
from trinity_beast.keys.hashing import demo_key_id, hash_key
from trinity_beast.params.definitions import PARAMS

DEMO_KEY = "demo-public-2026-03-01-abc123"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DATABASE_URL points at a fresh SQLite file; nothing else from the environment leaks in."""
    for name in ("REDIS_URL", "BEAST_REDIS_PREFIX", "BEAST_SECRETS_FILE", "BEAST_SEED_DEMO_KEY",
                 "DB_HOST", "DB_PASSWORD", "STRIPE_SECRET_KEY", "ADMIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "var" / "beast.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_reports_the_revision_and_seeds(database: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "migrate")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"sqlite:///{database} is at revision 0002",
        f"{len(PARAMS)} parameter defaults added",
        f"demo key {demo_key_id(DEMO_KEY)} ready (tier demo)",
    ]
    code, out, _ = run(capsys, "migrate")
    assert code == 0
    assert out.splitlines() == [f"sqlite:///{database} is at revision 0002",
                                f"demo key {demo_key_id(DEMO_KEY)} ready (tier demo)"]


def test_migrate_sql_prints_without_connecting(database: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "migrate", "--sql")
    assert code == 0
    assert "CREATE TABLE api_keys (" in out
    assert not database.exists()


def test_keys_create_prints_only_the_key(database: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "keys", "create", "--tier", "pro", "--email", "a@example.org")
    assert code == 0
    key = out.removesuffix("\n")
    assert re.fullmatch(r"tbk_[A-Za-z0-9_-]{43}", key)
    match = re.fullmatch(r"created (ak_live_[0-9a-f]{12}) \(tier pro\); the key above is shown "
                         r"only once\n", err)
    assert match is not None
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT key_id, key_hash, tier FROM api_keys "
                                  "WHERE tier = 'pro'").fetchall()
        dump = "\n".join(connection.iterdump())
    assert rows == [(match.group(1), hash_key(key), "pro")]
    assert key not in dump


def test_keys_list_show_set_tier_revoke(database: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    main(["keys", "create", "--tier", "free", "--name", "ci", "--lrs"])
    key = capsys.readouterr().out.strip()
    key_id = re.findall(r"ak_live_[0-9a-f]{12}", run(capsys, "keys", "list")[1])[0]

    code, out, _ = run(capsys, "keys", "list")
    assert code == 0
    demo_id = demo_key_id(DEMO_KEY)
    assert out.splitlines() == [
        "KEY_ID                TIER  USAGE        REVOKED  LRS",
        f"{demo_id}  demo  0/unlimited  no       no",
        f"{key_id}  free  0/1000       no       yes",
    ]
    assert hash_key(key) not in out

    code, out, _ = run(capsys, "keys", "show", key_id)
    assert code == 0
    shown = json.loads(out)
    assert (shown["key_id"], shown["tier"], shown["name"], shown["lrs_enabled"]) == \
        (key_id, "free", "ci", True)
    assert "key_hash" not in shown
    assert hash_key(key) not in out

    assert run(capsys, "keys", "set-tier", key_id, "enterprise")[:2] == \
        (0, f"{key_id} is now tier enterprise\n")
    assert json.loads(run(capsys, "keys", "show", key_id)[1])["query_limit"] == 500000
    assert run(capsys, "keys", "revoke", key_id)[:2] == (0, f"revoked {key_id}\n")
    assert json.loads(run(capsys, "keys", "show", key_id)[1])["revoked"] is True


@pytest.mark.parametrize(("argv", "message"), [
    (["keys", "show", "ak_live_missing"], "no API key with id 'ak_live_missing'"),
    (["keys", "revoke", "ak_live_missing"], "no API key with id 'ak_live_missing'"),
    (["keys", "create", "--tier", "gold"],
     "unknown tier 'gold'; known tiers: demo, enterprise, free, lifetime, partner, pro, unlimited"),
    (["params", "set", "burst", "many"], "burst: expected an integer, got 'many'"),
    (["params", "get", "brust"], "unknown parameter 'brust'; did you mean burst?"),
    (["params", "profile", "turbo"],
     "unknown profile 'turbo'; known profiles: debug, demo, performance"),
])
def test_user_errors_are_one_line_on_stderr(database: Path, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    assert run(capsys, *argv) == (1, "", f"beast: error: {message}\n")


def test_params_get_set_list_profile(database: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "params", "get", "cache_ttl_seconds") == (0, "9\n", "")
    assert run(capsys, "params", "set", "cache_ttl_seconds", "15") == \
        (0, "cache_ttl_seconds = 15\n", "")
    assert run(capsys, "params", "set", "cache_ttl_seconds", "-3")[0] == 1
    assert run(capsys, "params", "get", "cache_ttl_seconds")[1] == "15\n"

    listing = run(capsys, "params", "list")[1].splitlines()
    assert len(listing) == len(PARAMS)
    assert [line.split()[0] for line in listing] == list(PARAMS)
    assert listing[list(PARAMS).index("cache_ttl_seconds")].split() == ["cache_ttl_seconds", "15"]

    assert run(capsys, "params", "profile", "performance") == (
        0, "qps = 1000.0\nburst = 1000\nlog_level = error\n", "")
    assert run(capsys, "params", "get", "log_level")[1] == "error\n"


def test_config_show_redacts_every_secret(database: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("STRIPE_SECRET_KEY=sk_live_abcdef123456\n", encoding="utf-8")
    secrets_file.chmod(0o600)
    monkeypatch.setenv("BEAST_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("DB_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("REDIS_URL", "redis://:valkeypass@127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://beast:dbpass99@db:5432/tb")
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    shown = json.loads(out)
    for secret in ("sk_live_abcdef123456", "hunter2hunter2", "valkeypass", "dbpass99"):
        assert secret not in out
    assert shown["database_url"] == "postgresql://beast:***@db:5432/tb"
    assert shown["redis_url"] == "redis://:***@127.0.0.1:6379/0"
    assert shown["secrets"]["STRIPE_SECRET_KEY"] == "***"
    assert shown["secrets"]["DB_PASSWORD"] == "***"
    assert shown["secrets"]["SES_SMTP_PASSWORD"] is None
    assert (shown["role"], shown["lpo_http_port"], shown["var_dir"]) == \
        ("APP_REPORT_SERVER", 8080, "var")


def test_config_show_explains_a_bad_secrets_file(database: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("ADMIN_API_KEY=x\n", encoding="utf-8")
    secrets_file.chmod(0o644)
    monkeypatch.setenv("BEAST_SECRETS_FILE", str(secrets_file))
    code, out, err = run(capsys, "config", "show")
    assert (code, out) == (1, "")
    assert err == (f"beast: error: secrets file {secrets_file} is accessible by other users "
                   f"(mode -rw-r--r--); run: chmod 600 {secrets_file}\n")


def test_a_down_valkey_does_not_undo_a_change(database: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING):
        code, out, _ = run(capsys, "keys", "create", "--tier", "free")
        assert code == 0
        assert out.startswith("tbk_")
        assert run(capsys, "params", "set", "burst", "4")[:2] == (0, "burst = 4\n")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert re.fullmatch(r"key ak_live_[0-9a-f]{12} changed, but the invalidation was not "
                        r"published: Valkey PUBLISH failed: .+", messages[0])
    assert messages[1].startswith(
        "parameters stored, but app:config was not updated: Valkey MULTI DEL/HSET failed: ")
    monkeypatch.delenv("REDIS_URL")
    assert run(capsys, "params", "get", "burst")[1] == "4\n"
