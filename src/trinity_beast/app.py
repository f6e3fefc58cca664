"""The composition root: reads the settings once and wires stores, feeds, prices and servers.

Nothing else in the package chooses an implementation; everything below gets its dependencies
passed in, so tests build the same objects with their own settings.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trinity_beast.admin.cluster_stats import ClusterStats, node_figures
from trinity_beast.api.admin import AdminRoutes, AdminServices
from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.governed import governed_table
from trinity_beast.api.health import HealthView
from trinity_beast.api.http_lpo import LpoRoutes
from trinity_beast.api.ip_guard import IpGuard
from trinity_beast.api.router import HttpApp, RouteTable, json_response
from trinity_beast.api.service import LpoService
from trinity_beast.cache.valkey import ValkeyCache, redis_client
from trinity_beast.db.stores import Stores, build_stores, prepare_database
from trinity_beast.errors import Forbidden
from trinity_beast.feeds.manager import FeedManager
from trinity_beast.feeds.registry import adapters
from trinity_beast.http import HttpLimits, HttpServer, Request, Response
from trinity_beast.hub import Hub, follow_hub
from trinity_beast.keys.cache import INVALIDATE_CHANNEL, KeyCache
from trinity_beast.limits.admission import Admission, AdmitAll
from trinity_beast.limits.governor import Governor
from trinity_beast.limits.governor_valkey import ValkeyBoard
from trinity_beast.limits.lease import LocalAuthority
from trinity_beast.limits.lease_unix import UnixAuthority, serve_authority
from trinity_beast.limits.lease_valkey import ValkeyAuthority
from trinity_beast.limits.leased import LeasedRate
from trinity_beast.limits.limiter import Limiter, RateGate
from trinity_beast.logs import set_level
from trinity_beast.lrs import LrsRoutes, LrsService, UdpLrsServer, run_rollups
from trinity_beast.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from trinity_beast.metrics import BeastCollector, render
from trinity_beast.params.reloader import Reloader
from trinity_beast.params.store import CHANGED_CHANNEL
from trinity_beast.params.values import Parameters
from trinity_beast.prices.book import PriceBook
from trinity_beast.prices.jobs import run_flusher, run_prewarm_poll
from trinity_beast.prices.lookup import PriceService
from trinity_beast.prices.mirror import MemoryMirror, PriceMirror, RedisMirror
from trinity_beast.prices.rest import RestClient
from trinity_beast.replay.server import ReplayExchange
from trinity_beast.settings import Settings
from trinity_beast.sync.schedule import run_nightly
from trinity_beast.tasks import TaskGroup
from trinity_beast.udp.limits import UdpLimits
from trinity_beast.udp.lpo import UdpLpoServer
from trinity_beast.usage.pipeline import UsagePipeline, build_usage_pipeline
from trinity_beast.usage.record import DiscardingSink, UsageSink

log = logging.getLogger(__name__)

KEY_REFRESH_SECONDS = 30.0
LPO_ROLES = frozenset({"APP_REPORT_SERVER", "APP_SERVER"})
GOVERNED_PATHS = frozenset({"/price", "/prices"})
"""The price routes count against ``adaptive_max_concurrent``; health and metrics never do."""


class UdpServer(Protocol):
    @property
    def counters(self) -> Any: ...

    async def stop(self) -> None: ...


LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


@dataclass
class Beast:
    """One node: every long-lived object, built by :meth:`open` and run by :meth:`start`."""

    settings: Settings
    params: Parameters
    stores: Stores
    reloader: Reloader
    keys: KeyCache
    book: PriceBook
    feeds: FeedManager
    rest: RestClient
    prices: PriceService
    replay: ReplayExchange | None = None
    limiter: Admission = field(default_factory=AdmitAll)
    governor: Governor | None = None
    admin: AdminServices | None = None
    lease_authority: LocalAuthority | None = None
    """Set in the feed hub of ``--workers N`` without Valkey: the workers' shared buckets."""
    lease_server: asyncio.Server | None = None
    usage: UsageSink = field(default_factory=DiscardingSink)
    usage_pipeline: UsagePipeline | None = None
    ip_guard: IpGuard | None = None
    servers: dict[str, HttpServer] = field(default_factory=dict)
    apps: dict[str, HttpApp] = field(default_factory=dict)
    """The application behind each listener in ``servers`` (its route table)."""
    udp_servers: dict[str, UdpServer] = field(default_factory=dict)
    tasks: TaskGroup = field(default_factory=TaskGroup)

    hub: Hub | None = None
    """Set in the parent of ``--workers N``: it runs the feeds and fans quotes out."""
    hub_reader: asyncio.StreamReader | None = None
    """Set in a worker of ``--workers N``: quotes come from the hub, not from feeds."""
    hub_writer: asyncio.StreamWriter | None = None
    """Kept only so the connection lives (a dropped StreamWriter closes its transport)."""

    @classmethod
    async def open(cls, settings: Settings, *, replay_dir: Path | None = None,
                   hub: Hub | None = None, hub_sock: socket.socket | None = None) -> Beast:
        """Build a node: standalone (default), a feed hub (``hub``) or a worker (``hub_sock``)."""
        params = Parameters()
        stores = build_stores(settings, params)
        if hub_sock is None:
            await prepare_database(stores)
        reloader = Reloader(params, stores.param_store, stores.mirror)
        await reloader.reload_once(from_database=True)
        set_level(params.get_str("log_level"))
        keys = KeyCache()
        await keys.refresh_all(stores.keys)
        replay = None
        if replay_dir is not None:
            replay = ReplayExchange(replay_dir)
            await replay.start()
            settings = settings.with_(feed_urls=replay.ws_urls(), rest_urls=replay.rest_urls())
        all_adapters = adapters()
        book = hub.book() if hub is not None else PriceBook()
        if hub_sock is not None:
            settings = settings.with_(feeds_enabled=False)
        feeds = FeedManager(all_adapters, book, params, urls=settings.feed_urls)
        if hub is not None:
            hub.statuses = feeds.statuses
        rest = RestClient(all_adapters, settings.rest_urls,
                          timeout=lambda: params.get_int("rest_timeout_ms") / 1000)
        prices = PriceService(book, _mirror(settings, params), rest, feeds.statuses, all_adapters,
                              params)
        valkey = stores.cache if isinstance(stores.cache, ValkeyCache) else None
        lpo_role = settings.role in LPO_ROLES
        lease_authority = None
        if hub is not None and valkey is None and lpo_role:
            settings = settings.with_(lease_socket=_lease_socket_path(settings))
            lease_authority = LocalAuthority()
        beast = cls(settings, params, stores, reloader, keys, book, feeds, rest, prices, replay)
        beast.hub = hub
        beast.ip_guard = IpGuard(params)
        stats = ClusterStats(settings.node, settings.role,
                             node_figures(feeds.statuses, book, beast.servers), valkey)
        beast.admin = AdminServices.build(settings, stores, keys, reloader, stats)
        if lease_authority is not None and settings.lease_socket is not None:
            beast.lease_authority = lease_authority
            beast.lease_server = await serve_authority(settings.lease_socket, lease_authority)
        if lpo_role and hub is None:
            beast.limiter = Limiter(params, _rate_gate(settings, valkey))
            board = ValkeyBoard(valkey.client, settings.redis_prefix) if valkey else None
            beast.governor = Governor(params, f"{settings.node}:{os.getpid()}", board)
            redis = redis_client(settings.redis_url, params) if settings.redis_url else None
            beast.usage_pipeline = build_usage_pipeline(settings, params, stores.engine, redis,
                                                        settings.node)
            beast.usage = beast.usage_pipeline.sink
        if hub_sock is not None:
            beast.hub_reader, beast.hub_writer = await asyncio.open_unix_connection(sock=hub_sock)
        return beast

    async def start(self, *, listen: bool = True) -> None:
        """Start feeds, background jobs and (unless ``listen`` is false) the listeners."""
        self.params.subscribe(_follow_log_level)
        self.tasks.spawn("params:reload", self.reloader.run())
        self.tasks.spawn("keys:refresh", self._refresh_keys())
        self.tasks.spawn("keys:invalidations", self._follow_invalidations())
        if self.stores.cache.shared:
            self.tasks.spawn("params:follow", self._follow_param_changes())
        if self.admin is not None:
            self.tasks.spawn("cluster:stats", self.admin.stats.run())
        if isinstance(self.limiter, Limiter):
            self.tasks.spawn("limits:leases", self.limiter.run())
        if self.governor is not None:
            self.tasks.spawn("limits:governor", self.governor.run())
        if self.lease_authority is not None:
            self.tasks.spawn("limits:authority", self.lease_authority.run())
        if self.settings.feeds_enabled:
            self.feeds.start()
            self.tasks.spawn("prices:flush", run_flusher(self.prices, self.params))
            self.tasks.spawn("prices:kraken-prewarm",
                             run_prewarm_poll("kraken", self.rest, self.book, self.params))
        if self.hub is not None:
            self.tasks.spawn("hub:status", self.hub.run_status())
        if self.hub_reader is not None:
            self.tasks.spawn("hub:follow",
                             follow_hub(self.hub_reader, self.book, self.feeds.statuses))
        if self.usage_pipeline is not None:
            await self.usage_pipeline.start()
        if self.settings.role in LPO_ROLES and self.hub_reader is None:
            # Once per host: the standalone node, or the hub of --workers N. On PostgreSQL an
            # advisory lock makes the nightly sync run on one node of the cluster.
            self.tasks.spawn("sync:nightly", run_nightly(self.stores, self.params))
        if self.settings.role == "APP_REPORT_SERVER" and self.hub_reader is None:
            self.tasks.spawn("lrs:rollup", run_rollups(self.stores.engine, self.params))
        if not listen:
            return
        if self.settings.role in LPO_ROLES:
            await self._start_lpo()
        if self.settings.role == "APP_REPORT_SERVER":
            await self._start_lrs()
        if self.settings.role == "WEBHOOK_SERVER":
            await self._serve("webhook", self._webhook_app(), self.settings.webhook_health_port)

    def _health(self, envelope: Envelope) -> HealthView:
        return HealthView(envelope, self.settings.role, self.feeds.statuses, adapters(),
                          self.book, self.params)

    def _webhook_app(self) -> HttpApp:
        """The push role's listener: health only (no inbound API, as in the seed)."""
        envelope = Envelope("WEBHOOK", self.settings.region, self.settings.node)
        health = self._health(envelope)
        return HttpApp(envelope, {"/health": {"GET": lambda _r: json_response(health.render())}})

    async def _start_lpo(self) -> None:
        """The price API: HTTP :8080 and UDP :2679 over one service (same keys, limits, log)."""
        envelope = Envelope("LPO", self.settings.region, self.settings.node)
        pipeline = self.usage_pipeline
        service = LpoService(self.prices, Authenticator(self.keys), self.limiter, self.usage,
                             self.settings.node,
                             usage_backlogged=pipeline.buffer.full if pipeline else None)
        table = LpoRoutes(service, envelope, self._health(envelope)).table()
        if self.governor is not None:
            table = governed_table(self.governor, table, GOVERNED_PATHS)
        app = HttpApp(envelope, table, self._metrics_routes(), *self._admin_routes(envelope),
                      ip_guard=self.ip_guard)
        await self._serve("lpo", app, self.settings.lpo_http_port)
        udp = UdpLpoServer(service, envelope, limits=UdpLimits.from_parameters(self.params))
        await udp.start(self.settings.host, self.settings.lpo_udp_port,
                        reuse_port=self.settings.workers > 1)
        self.udp_servers["lpo"] = udp

    def _admin_routes(self, envelope: Envelope) -> list[RouteTable]:
        return [] if self.admin is None else [AdminRoutes(self.admin, envelope).table()]

    async def _start_lrs(self) -> None:
        """The report service: HTTP :9090, UDP :2680, and the daily usage rollup."""
        envelope = Envelope("LRS", self.settings.region, self.settings.node)
        service = LrsService(self.stores.engine, Authenticator(self.keys), self.params, envelope)
        app = HttpApp(envelope, LrsRoutes(service).table(), *self._admin_routes(envelope),
                      ip_guard=self.ip_guard)
        await self._serve("lrs", app, self.settings.lrs_http_port)
        udp = UdpLrsServer(service, self.params)
        await udp.start(self.settings.host, self.settings.lrs_udp_port,
                        reuse_port=self.settings.workers > 1)
        self.udp_servers["lrs"] = udp

    def _metrics_routes(self) -> RouteTable:
        """``GET /metrics`` (Prometheus), for loopback scrapers or with the admin key."""
        collector = BeastCollector(self.feeds.statuses, self.book, self.servers,
                                   lambda: self.usage_pipeline, self.udp_servers, self.governor)
        admin = self.settings.admin_key

        def get_metrics(request: Request) -> Response:
            host = request.client[0] if request.client else ""
            presented = request.headers.get("x-admin-key", "")
            allowed = host in LOOPBACK or (
                admin is not None and bool(admin)
                and hmac.compare_digest(presented.encode(), admin.reveal().encode()))
            if not allowed:
                raise Forbidden("metrics are served to loopback or with X-Admin-Key",
                                code="forbidden")
            return Response(200, render(collector), METRICS_CONTENT_TYPE)

        return {"/metrics": {"GET": get_metrics}}

    async def _serve(self, name: str, app: HttpApp, port: int) -> None:
        server = HttpServer(app, limits=HttpLimits.from_parameters(self.params),
                            error_factory=app.error_factory)
        await server.start(self.settings.host, port, reuse_port=self.settings.workers > 1)
        self.servers[name] = server
        self.apps[name] = app

    async def _refresh_keys(self) -> None:
        while True:
            await asyncio.sleep(KEY_REFRESH_SECONDS)
            try:
                await self.keys.refresh_changed(self.stores.keys)
            except Exception:
                log.exception("key refresh failed")

    async def _follow_invalidations(self) -> None:
        subscription = await self.stores.cache.subscribe(INVALIDATE_CHANNEL)
        try:
            async for key_id in subscription:
                await self.keys.invalidate(self.stores.keys, key_id)
        finally:
            await subscription.aclose()

    async def _follow_param_changes(self) -> None:
        """Reload at once when another node (or ``beast params set``) announces a change."""
        subscription = await self.stores.cache.subscribe(CHANGED_CHANNEL)
        try:
            await self.reloader.follow(subscription)
        finally:
            await subscription.aclose()

    async def stop(self, grace: float = 5.0) -> None:
        for server in self.servers.values():
            await server.shutdown(grace)
        for udp in self.udp_servers.values():
            await udp.stop()
        if self.usage_pipeline is not None:
            await self.usage_pipeline.stop()
        await self.feeds.stop()
        await self.tasks.stop()
        if self.lease_server is not None:
            self.lease_server.close()
            await self.lease_server.wait_closed()
        if self.hub is not None:
            await self.hub.close()
        await self.rest.close()
        await self.stores.aclose()
        if self.replay is not None:
            await self.replay.stop()


def _follow_log_level(params: Parameters, changed: frozenset[str]) -> None:
    if "log_level" in changed:
        set_level(params.get_str("log_level"))


def _rate_gate(settings: Settings, valkey: ValkeyCache | None) -> RateGate:
    """Where a worker's token buckets live (docs/limits.md): one bucket per key in Valkey for
    every node, in the feed hub for the workers of one host, or exact in this process."""
    if valkey is not None:
        return LeasedRate(ValkeyAuthority(valkey.client, settings.redis_prefix))
    if settings.lease_socket is not None:
        return LeasedRate(UnixAuthority(settings.lease_socket))
    return LocalAuthority()


def _lease_socket_path(settings: Settings) -> Path:
    """A Unix socket path for the hub's lease authority (at most 107 bytes on Linux)."""
    path = (settings.var_dir / "run" / f"lease-{os.getpid()}.sock").resolve()
    if len(str(path)) > 100:
        path = Path(tempfile.mkdtemp(prefix="beast-")) / "lease.sock"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    return path


def _mirror(settings: Settings, params: Parameters) -> PriceMirror:
    if settings.redis_url:
        timeout = params.get_int("cache_read_timeout_ms") / 1000
        return RedisMirror(redis_client(settings.redis_url, params), prefix=settings.redis_prefix,
                           timeout=timeout)
    return MemoryMirror()
