"""fusion (CDN) service: refresh, prefetch, their task lists, flux, bandwidth, log list.

Logic lives in `emulator.cdn`; this module parses JSON bodies, checks the signature and turns
`FusionError` into HTTP 400 with fusion's `{"code", "error"}` body. The listed log files are
served (unsigned) from `GET /fusionlog/<domain>/<day>/<name>`. Limits and quotas can be
changed at run time with the admin route `POST /_emulator/cdn`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator import cdn, services
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, NotFound
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.responses import json_response


def _body(ctx: RequestContext) -> JsonObject:
    try:
        return ctx.json_object()
    except BadRequest as exc:  # fusion answers its own error shape
        raise cdn.FusionError(400000, exc.message) from exc


def _fusion(work: Callable[[RequestContext, JsonObject], JsonObject]) -> Callable[[RequestContext], Response]:
    def handler(ctx: RequestContext) -> Response:
        ctx.require_mgmt_auth()
        try:
            return json_response(work(ctx, _body(ctx)))
        except cdn.FusionError as exc:
            return json_response(exc.body(ctx.reqid), status=400)

    handler.__name__ = work.__name__.lstrip("_")
    handler.__doc__ = work.__doc__
    return handler


def _refresh(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/refresh {"urls", "dirs"}`."""
    return services.of(ctx).cdn.refresh(q.get("urls"), q.get("dirs"), ctx.reqid)


def _prefetch(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/prefetch {"urls"}`."""
    return services.of(ctx).cdn.prefetch(q.get("urls"), ctx.reqid)


def _refresh_list(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/refresh/list`."""
    return services.of(ctx).cdn.list_tasks("refresh", q, ctx.reqid)


def _prefetch_list(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/prefetch/list`."""
    return services.of(ctx).cdn.list_tasks("prefetch", q, ctx.reqid)


def _flux(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/flux`."""
    return cdn.traffic(q, bandwidth=False)


def _bandwidth(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/bandwidth`."""
    return cdn.traffic(q, bandwidth=True)


def _log_list(ctx: RequestContext, q: JsonObject) -> JsonObject:
    """`POST /v2/tune/log/list`."""
    return cdn.log_list(q, f"http://{ctx.host()}")


def log_file(ctx: RequestContext, domain: str, day: str, name: str) -> Response:
    """`GET /fusionlog/<domain>/<day>/<name>`: a listed log file (gzip)."""
    content = cdn.log_content(domain, day, name)
    if content is None:
        raise NotFound("no such log file")
    return Response(content, status=200, content_type="application/gzip")


def settings(ctx: RequestContext) -> Response:
    """`POST /_emulator/cdn {"url_quota", "dir_quota", "prefetch_quota", "urls_per_request",
    "dirs_per_request"}` (admin; any subset); `GET` shows the current values."""
    book = services.of(ctx).cdn
    if ctx.request.method == "POST":
        try:
            doc = json.loads(ctx.body() or b"{}")
            if not isinstance(doc, dict):
                raise ValueError("expected a JSON object")
            book.limits.update(doc)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
    return json_response(book.settings())


refresh = _fusion(_refresh)
prefetch = _fusion(_prefetch)
refresh_list = _fusion(_refresh_list)
prefetch_list = _fusion(_prefetch_list)
flux = _fusion(_flux)
bandwidth = _fusion(_bandwidth)
log_list = _fusion(_log_list)

RULES: list[Rule] = [
    Rule("/v2/tune/refresh", endpoint=refresh, methods=["POST"]),
    Rule("/v2/tune/prefetch", endpoint=prefetch, methods=["POST"]),
    Rule("/v2/tune/refresh/list", endpoint=refresh_list, methods=["POST"]),
    Rule("/v2/tune/prefetch/list", endpoint=prefetch_list, methods=["POST"]),
    Rule("/v2/tune/flux", endpoint=flux, methods=["POST"]),
    Rule("/v2/tune/bandwidth", endpoint=bandwidth, methods=["POST"]),
    Rule("/v2/tune/log/list", endpoint=log_list, methods=["POST"]),
    Rule("/fusionlog/<domain>/<day>/<name>", endpoint=log_file, methods=["GET"]),
    Rule("/_emulator/cdn", endpoint=settings, methods=["GET", "POST"]),
]
