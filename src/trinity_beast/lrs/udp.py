"""The LRS over UDP (:2680): one JSON datagram in, one JSON datagram of at most 1,400 bytes out.

Request: ``{"api_key": "tbk_…", "report": "usage|summary|report-usage|report-summary", …}``
with the HTTP parameters as further members (strings or integers; ``format`` may only be
``json``). The answer is the HTTP JSON body. A page holds at most 16 rows and fewer when they
would not fit (``next_cursor`` continues); a summary that would not fit loses entries from its
longest breakdowns (the oldest days, the least used assets …), named in ``truncated``.

Reply rule, the same as on :2679 (docs/udp.md, :mod:`trinity_beast.udp.lpo`): a datagram that
is not admitted — not a request, no valid key, refused by the key's limiter or by the monthly
report allowance — gets an error reply only if the reply is no larger than the datagram (the
full error, else the short one) and the amplification guard has a token for its source;
otherwise it is dropped. An admitted request is always answered, errors included. Admitted
requests beyond ``udp_max_concurrent_lrs`` in flight are answered ``overloaded`` (503).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from trinity_beast.errors import (
    BadRequest,
    BeastError,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
)
from trinity_beast.keys.model import KeyRecord
from trinity_beast.lrs.filters import REPORTS, ReportQuery
from trinity_beast.lrs.results import Page, Summary, page_body
from trinity_beast.lrs.service import LrsService, Renderer, Result, endpoint_of
from trinity_beast.params.values import Parameters
from trinity_beast.udp.counters import UdpCounters, refusal_reply
from trinity_beast.udp.governor import WorkGovernor
from trinity_beast.udp.guard import ReplyGuard
from trinity_beast.udp.limits import UdpLimits
from trinity_beast.udp.messages import ShortError
from trinity_beast.udp.replies import MAX_REPLY_BYTES
from trinity_beast.udp.wire import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

MAX_ROWS = 16
UNNAMED = "/reports"
"""``endpoint`` of the error replies to datagrams that name no report."""
Address = tuple[Any, ...]
_encode = msgspec.json.Encoder().encode


def decode_request(data: bytes) -> tuple[str | None, str | None, str, dict[str, str]]:
    """``(api_key, api_key_id, report, parameters as text)``; :class:`BeastError` otherwise."""
    if len(data) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"a request datagram may hold at most {MAX_REQUEST_BYTES} bytes")
    try:
        request = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise BadRequest("send one JSON object: {\"api_key\":\"…\",\"report\":\"summary\"}",
                         code="invalid_json") from exc
    if not isinstance(request, dict):
        raise BadRequest("the request must be a JSON object", code="invalid_json")
    api_key, api_key_id, report = (request.pop(name, None)
                                   for name in ("api_key", "api_key_id", "report"))
    if report not in REPORTS:
        raise BadRequest(f"'report' must be one of {', '.join(REPORTS)}", code="unknown_report")
    if not all(isinstance(v, str | None) for v in (api_key, api_key_id)):
        raise BadRequest("'api_key' must be a string", code="invalid_api_key")
    return api_key, api_key_id, report, {name: _text(name, v) for name, v in request.items()
                                        if v is not None}


def _text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadRequest(f"'{name}' must be a string or an integer", code="invalid_parameter")


class UdpLrsServer:
    def __init__(self, service: LrsService, params: Parameters, *,
                 limits: UdpLimits | None = None, guard: ReplyGuard | None = None) -> None:
        self.service = service
        self.envelope = service.envelope
        if limits is None:
            limits = UdpLimits(max_concurrent=params.get_int("udp_max_concurrent_lrs"))
        self.guard = guard if guard is not None else ReplyGuard(  # an empty guard is falsy
            limits.error_rate, limits.error_burst, limits.global_error_rate,
            limits.global_error_burst)
        self.governor = WorkGovernor(limits.max_concurrent)
        self.counters = UdpCounters()
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self.transport is None:
            raise RuntimeError("the UDP LRS is not listening")
        return int(self.transport.get_extra_info("sockname")[1])

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(host, port), reuse_port=reuse_port or None)

    async def stop(self) -> None:
        """Close the socket; cancel the reports still running."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.counters.received += 1
        try:
            self._handle(data, addr)
        except Exception:
            self.counters.errors += 1
            log.exception("UDP report datagram from %s not handled", addr)

    def _handle(self, data: bytes, addr: Address) -> None:
        try:
            api_key, api_key_id, report, params = decode_request(data)
        except BeastError as exc:
            self._refuse(data, addr, UNNAMED, exc)
            return
        try:
            key = self.service.authenticate(api_key, api_key_id)
        except BeastError as exc:
            self._refuse(data, addr, endpoint_of(report), exc)
            return
        if not self.governor.try_acquire():
            self.counters.dropped_governor += 1
            busy = Unavailable("every UDP work slot is busy; try again", code="overloaded",
                               retry_after=1.0)
            self._send(self.envelope.error_from(endpoint_of(report), busy), addr)
            return
        task = asyncio.get_running_loop().create_task(
            self._answer(key, report, params, data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, key: KeyRecord, report: str, params: dict[str, str], data: bytes,
                      addr: Address) -> None:
        endpoint = endpoint_of(report)
        try:
            answer = await self.service.run(key, report, params, "udp", self._renderer(key),
                                            fixed_format="json", row_cap=MAX_ROWS)
        except TooManyRequests as exc:  # the allowance: refused like a datagram not admitted
            self._refuse(data, addr, endpoint, exc)
            return
        except BeastError as exc:
            answer = self.envelope.error_from(endpoint, exc)
        except Exception:
            self.counters.errors += 1
            log.exception("UDP report %s of %s failed", report, key.key_id)
            answer = self.envelope.error_body(endpoint, 500, "internal_error",
                                              "the report failed; try again")
        finally:
            self.governor.release()
        self._send(answer, addr)

    def _refuse(self, data: bytes, addr: Address, endpoint: str, exc: BeastError) -> None:
        """Answer a datagram that was not admitted: small, rate-limited, or not at all."""
        reply = refusal_reply(
            self.counters, self.guard, len(data), addr[0], self.envelope.error_from(endpoint, exc),
            lambda: _encode(ShortError(exc.status, exc.code, exc.retry_after)))
        if reply is not None:
            self._send(reply, addr)

    def _send(self, reply: bytes, addr: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(reply, addr)
            self.counters.answered += 1

    def _renderer(self, key: KeyRecord) -> Renderer[bytes]:
        def render(query: ReportQuery, result: Result) -> tuple[bytes, int]:
            if isinstance(result, Page):
                return fit_page(self.envelope.status(endpoint_of(query.report), 200),
                                endpoint_of(query.report), key.key_id, result)
            return fit_summary(result), result.count

        return render


def fit_page(status: str, endpoint: str, key_id: str, page: Page) -> tuple[bytes, int]:
    """The page's JSON body with as many leading rows as fit in ``MAX_REPLY_BYTES`` bytes."""
    body = _encode(page_body(status, endpoint, key_id, page))
    if len(body) <= MAX_REPLY_BYTES:
        return body, len(page.rows)
    fits, too_many = 0, len(page.rows)  # binary search: head(fits) fits, head(too_many) not
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(_encode(page_body(status, endpoint, key_id, page.head(middle)))) <= MAX_REPLY_BYTES:
            fits = middle
        else:
            too_many = middle
    if fits == 0:
        raise BeastError("a row of this page does not fit in one datagram; use HTTP",
                         code="reply_too_large")
    return _encode(page_body(status, endpoint, key_id, page.head(fits))), fits


def fit_summary(summary: Summary) -> bytes:
    """The summary's JSON body, its longest breakdowns shortened until it fits."""
    body = _encode(summary)
    breakdowns = {name: list(groups) for name, groups in summary.breakdowns.items()}
    truncated: set[str] = set()
    while len(body) > MAX_REPLY_BYTES:
        name = max(breakdowns, key=lambda n: len(breakdowns[n]))
        if not breakdowns[name]:
            raise BeastError("this summary does not fit in one datagram; use HTTP",
                             code="reply_too_large")
        breakdowns[name].pop(0 if name == "day" else -1)  # the oldest day, the least used …
        truncated.add(name)
        body = _encode(msgspec.structs.replace(summary, breakdowns=breakdowns,
                                               truncated=sorted(truncated)))
    return body


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: UdpLrsServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.server.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP LRS socket error: %s", exc)
