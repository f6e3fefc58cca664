"""The LRS routes (:9090): decode the request, call the report service, encode the answer.

``/reports/{usage,summary,report-usage,report-summary}`` take ``?format=``; the same paths with
a file extension (``/reports/usage.csv``, ``.tsv``, ``.txt``, ``.json``) fix the format, so
``curl -O`` saves a file with the right extension. CSV, TSV and text answers are attachments
named ``<report>-<key_id>-<YYYY-MM-DD>.<ext>`` (``curl -OJ`` uses that name). The next page of
a listing is in ``X-Next-Cursor`` and in a ``Link: <…>; rel="next"`` header (without
``api_key_id``, which is a secret: send it again, or use the header).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from urllib.parse import urlencode

import msgspec

from trinity_beast.api.auth import bearer_token
from trinity_beast.api.router import ALLOW_ORIGIN, Route, RouteTable, json_response
from trinity_beast.http import Request, Response
from trinity_beast.keys.model import KeyRecord
from trinity_beast.lrs.filters import REPORTS, ReportQuery
from trinity_beast.lrs.formats import EXTENSIONS, MEDIA_TYPES, filename, render
from trinity_beast.lrs.results import Page, page_body
from trinity_beast.lrs.service import LrsService, Renderer, Result, endpoint_of

CREDENTIALS = ("api_key_id",)
EXPOSE_HEADERS = ("Access-Control-Expose-Headers", "X-Next-Cursor, Link, Content-Disposition")
_encode = msgspec.json.Encoder().encode


class LrsRoutes:
    """The four report endpoints, each also with a format extension."""

    def __init__(self, service: LrsService) -> None:
        self.service = service

    def table(self) -> RouteTable:
        routes: dict[str, dict[str, Route]] = {}
        for report in REPORTS:
            routes[endpoint_of(report)] = {"GET": partial(self.get_report, report, None)}
            for fmt, extension in EXTENSIONS.items():
                routes[f"{endpoint_of(report)}.{extension}"] = {
                    "GET": partial(self.get_report, report, fmt)}
        return routes

    async def get_report(self, report: str, fixed_format: str | None,
                         request: Request) -> Response:
        header = request.headers.get("authorization")
        params = request.query()
        presented = bearer_token(header) if header is not None else None
        key = self.service.authenticate(presented, params.get("api_key_id"))
        render_answer = self._renderer(key, request.path, params)
        return await self.service.run(key, report, params, "http", render_answer,
                                      credentials=CREDENTIALS, fixed_format=fixed_format)

    def _renderer(self, key: KeyRecord, path: str,
                  params: Mapping[str, str]) -> Renderer[Response]:
        def render_answer(query: ReportQuery, result: Result) -> tuple[Response, int]:
            headers = [ALLOW_ORIGIN, EXPOSE_HEADERS]
            if isinstance(result, Page):
                rows = len(result.rows)
                next_cursor = result.next_cursor
                if next_cursor is not None:
                    headers += [("X-Next-Cursor", next_cursor),
                                ("Link", f'<{_next_link(path, params, next_cursor)}>; rel="next"')]
            else:
                rows = result.count
            if query.format == "json":
                body = result if not isinstance(result, Page) else page_body(
                    self.service.envelope.status(endpoint_of(query.report), 200),
                    endpoint_of(query.report), key.key_id, result)
                return json_response(_encode(body), 200, headers[1:]), rows
            name = filename(query.report, key.key_id, self.service.now().date(), query.format)
            headers.append(("Content-Disposition", f'attachment; filename="{name}"'))
            return Response(200, render(query.format, result.table()),
                            MEDIA_TYPES[query.format], headers), rows

        return render_answer


def _next_link(path: str, params: Mapping[str, str], cursor: str) -> str:
    kept = [(k, v) for k, v in params.items() if k not in CREDENTIALS and k != "cursor"]
    return f"{path}?{urlencode([*kept, ('cursor', cursor)])}"
