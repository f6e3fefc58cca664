"""An admin listener over real stores: HttpServer + HttpApp(AdminRoutes) on loopback, a real
KeyCache and Reloader over a migrated database of each backend, an audit log in tmp_path."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL
from tests.db.backends import database_url
from trinity_beast.admin.audit import AuditLog
from trinity_beast.admin.cluster_stats import ClusterStats, Figures
from trinity_beast.admin.guard import AdminGuard
from trinity_beast.api.admin import AdminRoutes, AdminServices
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.router import HttpApp
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.stores import Stores, build_stores, prepare_database
from trinity_beast.http import HttpServer
from trinity_beast.keys.cache import KeyCache
from trinity_beast.params.reloader import Reloader
from trinity_beast.secrets import Secret
from trinity_beast.settings import Settings

__all__ = ["database_url"]

ADMIN_KEY = "tbmc-admin-test-0123456789abcdef"


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class AdminRig:
    stores: Stores
    keys: KeyCache
    reloader: Reloader
    services: AdminServices
    server: HttpServer
    audit_dir: Path
    guard_clock: FakeClock

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def call(self, method: str, path: str, *, key: str | None = ADMIN_KEY,
                   body: object = None, raw: bytes | None = None,
                   ) -> tuple[int, dict[str, str], Any]:
        headers = {"X-Admin-Key": key} if key is not None else {}
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        async with aiohttp.ClientSession() as session, session.request(
                method, self.base + path, headers=headers, data=data) as response:
            payload = await response.json(content_type=None)
            return response.status, dict(response.headers), payload

    def audit_lines(self) -> list[dict[str, Any]]:
        files = sorted(self.audit_dir.glob("admin-*.jsonl"))
        return [json.loads(line) for path in files
                for line in path.read_text(encoding="utf-8").splitlines()]

    def audit_text(self) -> str:
        return "".join(path.read_text(encoding="utf-8")
                       for path in sorted(self.audit_dir.glob("*")))


RigFactory = Callable[..., Any]


@pytest.fixture
async def make_rig(database_url: str, tmp_path: Path) -> AsyncIterator[RigFactory]:
    """``await make_rig(admin_key=…, attempts=…, redis_prefix=…)`` starts a listener."""
    opened: list[tuple[Stores, HttpServer]] = []

    async def make(*, admin_key: str | None = ADMIN_KEY, attempts: int = 100,
                   redis_prefix: str | None = None) -> AdminRig:
        settings = Settings(database_url=database_url, seed_demo_key=False, node="BeastTest",
                            region="test", var_dir=tmp_path / "var",
                            redis_url=REDIS_URL if redis_prefix is not None else None,
                            redis_prefix=redis_prefix or "")
        stores = build_stores(settings)
        await prepare_database(stores)
        keys = KeyCache()
        await keys.refresh_all(stores.keys)
        reloader = Reloader(stores.params, stores.param_store, stores.mirror)
        await reloader.reload_once(from_database=True)
        cache = stores.cache if isinstance(stores.cache, ValkeyCache) else None
        stats = ClusterStats("BeastTest", "APP_REPORT_SERVER", lambda: Figures(requests=7),
                             cache, pid=4242)
        clock = FakeClock()
        services = AdminServices(
            stores, keys, reloader, stats, AuditLog(tmp_path / "var" / "audit", "BeastTest"),
            AdminGuard(Secret(admin_key) if admin_key is not None else None,
                       attempts=attempts, clock=clock))
        envelope = Envelope("LPO", "test", "BeastTest")
        app = HttpApp(envelope, AdminRoutes(services, envelope).table())
        server = HttpServer(app, error_factory=app.error_factory)
        await server.start("127.0.0.1", 0)
        opened.append((stores, server))
        return AdminRig(stores, keys, reloader, services, server, tmp_path / "var" / "audit",
                        clock)

    yield make
    for stores, server in opened:
        await server.shutdown(1.0)
        await stores.aclose()


@pytest.fixture
async def rig(make_rig: RigFactory) -> AdminRig:
    rig: AdminRig = await make_rig()
    return rig


@pytest.fixture
async def shared_rig(make_rig: RigFactory, redis_available: None) -> AsyncIterator[AdminRig]:
    """The rig with the real Valkey under a unique prefix (cleaned up after)."""
    prefix = f"test:{uuid.uuid4().hex}:"
    rig: AdminRig = await make_rig(redis_prefix=prefix)
    yield rig
    cleaner = Redis.from_url(REDIS_URL)
    keys = [key async for key in cleaner.scan_iter(match=f"{prefix}*")]
    if keys:
        await cleaner.delete(*keys)
    await cleaner.aclose()
