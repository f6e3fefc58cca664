"""One frozen settings object, built from the environment (and secrets file) by the CLI."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from trinity_beast.secrets import Secret, collect_secrets

ROLES = ("APP_REPORT_SERVER", "APP_SERVER", "WEBHOOK_SERVER")


class SettingsError(ValueError):
    """An environment value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///./var/beast.db"
    redis_url: str | None = None
    redis_prefix: str = ""
    """Prepended to every Valkey key (tests use one per run)."""
    role: str = "APP_REPORT_SERVER"
    node: str = "BeastNode"
    region: str = "local"
    host: str = "0.0.0.0"  # noqa: S104 - a server is meant to be reachable; set BEAST_HOST to narrow
    lpo_http_port: int = 8080
    lpo_udp_port: int = 2679
    lrs_http_port: int = 9090
    lrs_udp_port: int = 2680
    webhook_health_port: int = 8083
    workers: int = 1
    var_dir: Path = Path("var")
    seed_demo_key: bool = True
    feeds_enabled: bool = True
    feed_urls: Mapping[str, str] = field(default_factory=dict)
    """WebSocket URL overrides by exchange name (replay mode points them at loopback)."""
    rest_urls: Mapping[str, str] = field(default_factory=dict)
    """REST base URL overrides by exchange name."""
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    lease_socket: Path | None = None
    """Set by the feed hub of ``--workers N`` for its workers: the Unix socket of the rate-limit
    lease authority they share when there is no Valkey (``BEAST_LEASE_SOCKET``, internal)."""

    @property
    def admin_key(self) -> Secret | None:
        return self.secrets.get("ADMIN_API_KEY")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _database_url(env: Mapping[str, str], var_dir: Path) -> str:
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    if env.get("DB_HOST"):
        user = env.get("DB_USER", "postgres")
        password = env.get("DB_PASSWORD", "")
        auth = f"{user}:{password}@" if password else f"{user}@"
        return (f"postgresql://{auth}{env['DB_HOST']}:{env.get('DB_PORT', '5432')}"
                f"/{env.get('DB_NAME', 'trinity_beast')}")
    return f"sqlite:///{var_dir / 'beast.db'}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables (documented in docs/configuration.md)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("BEAST_VAR_DIR", "var"))
    role = env.get("SERVER_TYPE", "APP_REPORT_SERVER").upper()
    if role not in ROLES:
        raise SettingsError(f"SERVER_TYPE must be one of {', '.join(ROLES)}, got {role!r}")
    secrets = collect_secrets({**env})
    merged_env = {**env, **{k: v.reveal() for k, v in secrets.items() if k.startswith("DB_")}}
    feed_urls = {k[len("BEAST_FEED_URL_"):].lower(): v for k, v in env.items()
                 if k.startswith("BEAST_FEED_URL_")}
    rest_urls = {k[len("BEAST_REST_URL_"):].lower(): v for k, v in env.items()
                 if k.startswith("BEAST_REST_URL_")}
    return Settings(
        database_url=_database_url(merged_env, var_dir),
        redis_url=env.get("REDIS_URL") or None,
        redis_prefix=env.get("BEAST_REDIS_PREFIX", ""),
        role=role,
        node=env.get("CLUSTER_NODE") or socket.gethostname(),
        region=env.get("BEAST_REGION", "local"),
        host=env.get("BEAST_HOST", "0.0.0.0"),  # noqa: S104
        lpo_http_port=_int(env, "TCP_PORT_LPO", 8080),
        lpo_udp_port=_int(env, "UDP_PORT_LPO", 2679),
        lrs_http_port=_int(env, "TCP_PORT_LRS", 9090),
        lrs_udp_port=_int(env, "UDP_PORT_LRS", 2680),
        webhook_health_port=_int(env, "WEBHOOK_HEALTH_PORT", 8083),
        workers=_int(env, "BEAST_WORKERS", 1),
        var_dir=var_dir,
        seed_demo_key=_bool(env, "BEAST_SEED_DEMO_KEY", True),
        feeds_enabled=_bool(env, "BEAST_FEEDS", True),
        feed_urls=feed_urls,
        rest_urls=rest_urls,
        secrets=secrets,
        lease_socket=Path(env["BEAST_LEASE_SOCKET"]) if env.get("BEAST_LEASE_SOCKET") else None,
    )
