"""The admin routes (header ``X-Admin-Key``), served on the LPO and the LRS listeners.

``POST /admin/invalidate-key``, ``POST /admin/reload-params``, ``GET|POST /admin/system-mode``,
``GET /admin/cluster-stats`` (docs/admin.md). Every call passes the guard (attempts per IP,
then the admin key) and is written to the audit log with its outcome, whatever it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from trinity_beast.admin.audit import AuditLog
from trinity_beast.admin.cluster_stats import ClusterStats
from trinity_beast.admin.guard import AdminGuard, AdminRateLimited
from trinity_beast.api.auth import MAX_KEY_LENGTH
from trinity_beast.api.envelope import Envelope
from trinity_beast.api.router import Route, RouteTable, json_response
from trinity_beast.cache.base import CacheUnavailable
from trinity_beast.cache.valkey import ValkeyCache
from trinity_beast.db.engine import DatabaseUnavailable
from trinity_beast.db.stores import Stores
from trinity_beast.errors import BadRequest, BeastError, NotFound, Unavailable
from trinity_beast.http import Request, Response
from trinity_beast.keys.cache import KeyCache
from trinity_beast.keys.hashing import hash_key
from trinity_beast.params.reloader import Reloader
from trinity_beast.params.store import UnknownProfile
from trinity_beast.settings import Settings
from trinity_beast.sync.records import write_keys


@dataclass(frozen=True, slots=True)
class AdminServices:
    """What the admin routes act on; one per process, shared by the LPO and LRS listeners."""

    stores: Stores
    keys: KeyCache
    reloader: Reloader
    stats: ClusterStats
    audit: AuditLog
    guard: AdminGuard

    @classmethod
    def build(cls, settings: Settings, stores: Stores, keys: KeyCache, reloader: Reloader,
              stats: ClusterStats) -> AdminServices:
        return cls(stores, keys, reloader, stats,
                   AuditLog(settings.var_dir / "audit", settings.node),
                   AdminGuard(settings.admin_key))


@dataclass(slots=True)
class CallNote:
    """What a handler tells the audit log about its call (never a key)."""

    key_id: str | None = None
    detail: str | None = None
    refused_before: int = 0


Action = Callable[[Request, CallNote], Awaitable[Response]]
BodyT = TypeVar("BodyT", bound=msgspec.Struct)


class InvalidateBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    api_key: str | None = None
    key_id: str | None = None


class ModeBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: str | None = None


class AdminRoutes:
    def __init__(self, services: AdminServices, envelope: Envelope) -> None:
        self.services = services
        self.envelope = envelope

    def table(self) -> RouteTable:
        mode = self._guarded("/admin/system-mode", self.system_mode)
        return {
            "/admin/invalidate-key": {
                "POST": self._guarded("/admin/invalidate-key", self.invalidate_key)},
            "/admin/reload-params": {
                "POST": self._guarded("/admin/reload-params", self.reload_params)},
            "/admin/system-mode": {"GET": mode, "POST": mode},
            "/admin/cluster-stats": {
                "GET": self._guarded("/admin/cluster-stats", self.cluster_stats)},
        }

    def _guarded(self, endpoint: str, action: Action) -> Route:
        async def handle(request: Request) -> Response:
            note = CallNote()
            try:
                note.refused_before = self.services.guard.admit(_client_ip(request))
                self.services.guard.check_key(request.headers.get("x-admin-key"))
                response = await action(request, note)
            except AdminRateLimited as exc:
                if exc.first:
                    self._audit(request, endpoint, exc.code, exc.status, note)
                raise
            except BeastError as exc:
                self._audit(request, endpoint, exc.code, exc.status, note)
                raise
            except (DatabaseUnavailable, CacheUnavailable) as exc:
                code = "database_unavailable" if isinstance(
                    exc, DatabaseUnavailable) else "cache_unavailable"
                self._audit(request, endpoint, code, 503, note)
                raise Unavailable(str(exc), code=code) from exc
            except Exception:
                self._audit(request, endpoint, "internal_error", 500, note)
                raise
            self._audit(request, endpoint, "ok", response.status, note)
            return response

        return handle

    def _audit(self, request: Request, endpoint: str, outcome: str, status: int,
               note: CallNote) -> None:
        self.services.audit.record(
            client_ip=_client_ip(request), method=request.method, endpoint=endpoint,
            outcome=outcome, status=status, key_id=note.key_id, detail=note.detail,
            forwarded_for=request.headers.get("x-forwarded-for"),
            refused_before=note.refused_before)

    def _ok(self, endpoint: str, fields: dict[str, Any]) -> Response:
        body = {"status": self.envelope.status(endpoint, 200), "status_code": 200,
                "endpoint": endpoint, **fields}
        return json_response(msgspec.json.encode(body))

    async def invalidate_key(self, request: Request, note: CallNote) -> Response:
        """Re-read one key from the database here, and announce it to every node."""
        wanted, by_key_id = _invalidate_target(request)
        key_id = wanted if by_key_id else await self._key_id_of(wanted)
        note.key_id = key_id
        stores = self.services.stores
        record = None if key_id is None else await self.services.keys.invalidate(stores.keys,
                                                                                  key_id)
        if record is None:
            raise NotFound("no API key matches", code="unknown_key")
        await stores.announce_key_change(record.key_id)
        if isinstance(stores.cache, ValkeyCache):
            await write_keys(stores.cache, [record])
        return self._ok("/admin/invalidate-key", {
            "invalidated": True, "key_id": record.key_id, "tier": record.tier,
            "revoked": record.revoked})

    async def _key_id_of(self, api_key: str) -> str | None:
        """The key id of a presented key, looked up by its hash (the key itself is never sent
        to the database), or of the entry this node still caches for it."""
        record = await self.services.stores.keys.get_by_hash(hash_key(api_key))
        if record is None:
            record = self.services.keys.lookup(api_key)
        return None if record is None else record.key_id

    async def reload_params(self, _request: Request, note: CallNote) -> Response:
        """Reload from the database now, here and (through ``params:changed``) everywhere."""
        changed = sorted(await self.services.reloader.reload_once(from_database=True))
        await self.services.stores.announce_param_change(changed)
        note.detail = ",".join(changed) or None
        return self._ok("/admin/reload-params", {"reloaded": True, "changed": changed})

    async def system_mode(self, request: Request, note: CallNote) -> Response:
        """Apply a profile (``?mode=`` or ``{"mode": …}``); a GET without one shows the mode."""
        mode = _mode_of(request)
        if mode is None:
            if request.method == "POST":
                raise BadRequest("give the mode: demo, performance or debug",
                                 code="missing_parameter")
            return self._ok("/admin/system-mode", await self._current_mode())
        note.detail = mode
        try:
            applied = await self.services.reloader.apply_profile(mode)
        except UnknownProfile as exc:
            raise BadRequest(str(exc), code="unknown_mode") from exc
        await self.services.stores.announce_param_change(sorted(applied))
        return self._ok("/admin/system-mode", {"mode": mode, "applied": applied})

    async def _current_mode(self) -> dict[str, Any]:
        profiles = await self.services.stores.param_store.profiles()
        params = self.services.reloader.params
        matching = [name for name, values in sorted(profiles.items())
                    if all(params.get_text(k) == v for k, v in values.items())]
        names = sorted({k for values in profiles.values() for k in values})
        return {"mode": matching[0] if matching else "custom", "profiles": sorted(profiles),
                "values": {name: params.get_text(name) for name in names}}

    async def cluster_stats(self, _request: Request, _note: CallNote) -> Response:
        view = await self.services.stats.aggregate()
        return self._ok("/admin/cluster-stats", msgspec.structs.asdict(view))


def _client_ip(request: Request) -> str:
    return request.client[0] if request.client else "-"


def _invalidate_target(request: Request) -> tuple[str, bool]:
    """``(api key or key id, is a key id)`` from the JSON body or ``?key_id=``."""
    body = _decode(request.body, InvalidateBody) if request.body else InvalidateBody()
    key_id = body.key_id or request.query().get("key_id")
    if body.api_key and key_id:
        raise BadRequest("give api_key or key_id, not both", code="invalid_parameter")
    if body.api_key:
        if len(body.api_key) > MAX_KEY_LENGTH:
            raise NotFound("no API key matches", code="unknown_key")
        return body.api_key, False
    if key_id:
        return key_id, True
    raise BadRequest('send {"api_key": "..."} or {"key_id": "..."} (or ?key_id=)',
                     code="missing_parameter")


def _mode_of(request: Request) -> str | None:
    query = request.query().get("mode")
    if query:
        return query.strip().lower()
    if request.method == "POST" and request.body:
        mode = _decode(request.body, ModeBody).mode
        return mode.strip().lower() if mode else None
    return None


def _decode(body: bytes, kind: type[BodyT]) -> BodyT:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body must be a JSON object: {exc}", code="invalid_json") from exc
