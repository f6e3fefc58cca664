"""The transport-neutral LRS: authenticate → parse → count one report → query → render → log.

HTTP (:9090) and UDP (:2680) decode a request, call :meth:`LrsService.authenticate` and
:meth:`LrsService.run` with a renderer of their own, and send what the renderer made. Every call
that gets past authentication is logged in ``report_usage_logs``, refusals included; only
calls with valid parameters consume a report (docs/lrs.md).
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.api.callers import Authenticator
from trinity_beast.api.envelope import Envelope
from trinity_beast.db.engine import DatabaseUnavailable, begin
from trinity_beast.db.schema import report_usage_logs
from trinity_beast.errors import BeastError, Forbidden, Unauthorized, Unavailable
from trinity_beast.keys.hashing import DEMO_KEY_ID_PREFIX, KEY_ID_PREFIX, hash_key
from trinity_beast.keys.model import KeyRecord
from trinity_beast.limits.admission import Admission, AdmitAll
from trinity_beast.lrs.aggregate import Aggregate
from trinity_beast.lrs.allowance import consume, count_of, limit_of, month_of
from trinity_beast.lrs.filters import FORMATS, ReportQuery, parse_query
from trinity_beast.lrs.queries import (
    query_quota,
    report_aggregate,
    report_page,
    timestamp,
    usage_aggregate,
    usage_page,
)
from trinity_beast.lrs.results import Allowance, Page, Quota, Summary
from trinity_beast.params.values import Parameters

log = logging.getLogger(__name__)

T = TypeVar("T")
Result = Page | Summary
Renderer = Callable[[ReportQuery, Result], tuple[T, int]]
"""Makes the transport's answer from a result; returns it and the number of rows it holds."""


class LrsService:
    def __init__(self, engine: AsyncEngine, auth: Authenticator, params: Parameters,
                 envelope: Envelope, *, limiter: Admission | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.auth = auth
        self.params = params
        self.envelope = envelope
        self.limiter = limiter if limiter is not None else AdmitAll()
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def authenticate(self, presented: str | None, api_key_id: str | None) -> KeyRecord:
        """The caller's key: ``presented`` (the Bearer key) or else ``api_key_id`` (the key
        itself). With both, ``api_key_id`` must name the same key (the key or its key id)."""
        api_key_id = api_key_id or None
        if presented is not None:
            key = self.auth.from_key(presented)
            if api_key_id is not None and not _names(key, api_key_id):
                raise Forbidden("api_key_id names a different API key than the Authorization "
                                "header; a key can only read its own reports", code="forbidden")
        elif api_key_id is not None:
            if api_key_id.startswith((KEY_ID_PREFIX, DEMO_KEY_ID_PREFIX)):
                raise Unauthorized("api_key_id must be your API key itself; a key id (ak_…) is "
                                   "not secret and cannot authenticate", code="invalid_api_key")
            key = self.auth.from_key(api_key_id)
        else:
            raise Unauthorized("send your API key as 'Authorization: Bearer YOUR_API_KEY' or as "
                               "the api_key_id parameter", code="missing_api_key")
        self.limiter.admit(key, self.clock())
        return key

    async def run(self, key: KeyRecord, report: str, params: Mapping[str, str], protocol: str,
                  render: Renderer[T], *, credentials: Collection[str] = (),
                  fixed_format: str | None = None, row_cap: int | None = None) -> T:
        """Run ``report`` for ``key`` and log the call. ``fixed_format`` is the format the
        transport imposes (a path's extension, JSON over UDP); ``row_cap`` bounds a page."""
        started = time.perf_counter()
        requested = params.get("format", "").strip().lower() or fixed_format
        fmt, status, rows = requested if requested in FORMATS else "json", 500, 0
        try:
            now = self.now()
            query = parse_query(report, params, now, self.params.get_int("retention_days"),
                                credentials=credentials, fixed_format=fixed_format)
            fmt = query.format
            await consume(self.engine, key, now, self.params.get_int("lrs_monthly_report_limit"))
            result = await self._report(key, query, now, row_cap)
            answer, rows = render(query, result)
        except BeastError as exc:
            status = exc.status
            raise
        except DatabaseUnavailable as exc:
            status = Unavailable.status
            raise Unavailable("reports are unavailable right now; try again shortly") from exc
        else:
            status = 200
            return answer
        finally:
            await self._log(key, report, fmt, status, rows, protocol, started)

    async def _report(self, key: KeyRecord, query: ReportQuery, now: datetime,
                      row_cap: int | None) -> Result:
        rows = query.limit if row_cap is None else min(query.limit, row_cap)
        async with begin(self.engine) as conn:
            if query.report == "usage":
                return await usage_page(conn, key.key_id, query, rows)
            if query.report == "report-usage":
                return await report_page(conn, key.key_id, query, rows)
            if query.report == "summary":
                aggregate = await usage_aggregate(conn, key.key_id, query)
                quota = _quota(key, await query_quota(conn, key.key_id))
                return self._summary(key, query, aggregate, quota=quota)
            aggregate = await report_aggregate(conn, key.key_id, query)
            month = month_of(now)
            used = await count_of(conn, key.key_id, month)
        limit = limit_of(key, self.params.get_int("lrs_monthly_report_limit"))
        remaining = None if limit is None else max(limit - used, 0)
        return self._summary(key, query, aggregate,
                             allowance=Allowance(month, limit, used, remaining))

    def _summary(self, key: KeyRecord, query: ReportQuery, aggregate: Aggregate, *,
                 quota: Quota | None = None, allowance: Allowance | None = None) -> Summary:
        endpoint = endpoint_of(query.report)
        return Summary(
            status=self.envelope.status(endpoint, 200), status_code=200, endpoint=endpoint,
            api_key_id=key.key_id, start=timestamp(query.start), end=timestamp(query.end),
            count=aggregate.count, errors=aggregate.errors,
            latency_us=aggregate.histogram.latency(), quota=quota, allowance=allowance,
            breakdowns=aggregate.breakdowns,
        )

    async def _log(self, key: KeyRecord, report: str, fmt: str, status: int, rows: int,
                   protocol: str, started: float) -> None:
        """One ``report_usage_logs`` row; a failure is logged here, never raised."""
        elapsed_us = int((time.perf_counter() - started) * 1_000_000)
        row = {
            "id": uuid.uuid4().hex, "api_key_id": key.key_id, "report_type": report,
            "format": fmt, "status": status, "rows": rows, "response_time_us": elapsed_us,
            "protocol": protocol, "node": self.envelope.node, "created_at": self.now(),
        }
        try:
            async with begin(self.engine) as conn:
                await conn.execute(report_usage_logs.insert().values(row))
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("report call of %s not logged: %s", key.key_id, exc)


def endpoint_of(report: str) -> str:
    return f"/reports/{report}"


def _names(key: KeyRecord, api_key_id: str) -> bool:
    """Whether ``api_key_id`` is ``key`` itself or its key id (constant time for the key)."""
    return api_key_id == key.key_id or hmac.compare_digest(hash_key(api_key_id), key.key_hash)


def _quota(key: KeyRecord, stored: tuple[int | None, int] | None) -> Quota:
    limit, used = stored if stored is not None else (key.query_limit, key.current_usage)
    return Quota(limit, used, None if limit is None else max(limit - used, 0))
