"""Downloads: `GET`/`HEAD /dl/<bucket>/<key>`.

Served like a bucket domain: `Content-Type` (the object's MIME), `Content-Length`,
`ETag: "<hash>"`, `Last-Modified` (putTime), `Accept-Ranges: bytes` (a Range answers 206),
conditional requests (304), user metadata as `X-Qn-Meta-<name>`, and `attname=<name>` gives a
`Content-Disposition: attachment`. A private bucket needs a valid `e`/`token` (401); an
emulator started with an anti-leech key needs a valid `sign`/`t` (403) on every download,
signed over `/dl/<bucket>/<key>` or, as a CDN domain would see it, over `/<key>`. Disabled
objects (chstatus 1) answer 403; missing ones 404. A Range past the end answers 416 with
``Content-Range: bytes */<size>`` (RFC 9110 §15.5.17, as Kodo's io does).

Every ``GET`` is counted in the stats by answer code, and its body bytes as they are handed
to the server (``downloads`` in ``/_emulator/stats``): a test can prove that a resumed
download asked for a Range and received only the rest.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.routing import Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from kodo_jobs.emulator import dlauth
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import EmulatorError, Forbidden, NotFound, Unauthorized
from kodo_jobs.emulator.handlers.admin import admin_of
from kodo_jobs.emulator.responses import json_response
from kodo_jobs.emulator.stats import Stats
from kodo_jobs.emulator.verify import request_target


def authorise(ctx: RequestContext, bucket: str) -> None:
    """Raise 403/401 unless the URL carries what the bucket and the emulator demand."""
    target = request_target(ctx.request)
    raw_path, _, query = target.partition("?")
    key_secret = ctx.config.anti_leech_key
    if key_secret:
        prefix = f"/dl/{urllib.parse.quote(bucket, safe='')}"
        alt = (raw_path[len(prefix):],) if raw_path.startswith(prefix + "/") else ()
        problem = dlauth.anti_leech_problem(raw_path, query, key_secret, alt, now=ctx.now())
        if problem:
            raise Forbidden(problem)
    if ctx.store.is_private(bucket):
        scheme = ctx.request.scheme or "http"
        problem = dlauth.private_url_problem(
            scheme, ctx.host(), target, ctx.config.access_key, ctx.config.secret_key, now=ctx.now()
        )
        if problem:
            raise Unauthorized(problem)


def _stats(ctx: RequestContext) -> Stats | None:
    admin = admin_of(ctx.emulator)
    return admin.stats if admin is not None else None


def _counted(body: Iterable[bytes] | Iterable[str], stats: Stats, status: int) -> Iterator[bytes]:
    """``body``, counting each chunk once the server asks for the next one (it was written)."""
    try:
        for item in body:
            chunk = item.encode() if isinstance(item, str) else item
            yield chunk
            stats.add_download_bytes(status, len(chunk))
    finally:
        close = getattr(body, "close", None)
        if callable(close):
            close()


def download(ctx: RequestContext, bucket: str, key: str) -> Response:
    """Stream one object; GETs are counted per answer code and body byte (see the module doc)."""
    stats = _stats(ctx) if ctx.request.method == "GET" else None
    try:
        response = _download(ctx, bucket, key)
    except EmulatorError as err:
        if stats is not None:
            stats.count_download(err.status)
        raise
    if stats is not None:
        stats.count_download(response.status_code)
        if response.status_code in (200, 206) and response.response is not None:
            response.response = _counted(response.response, stats, response.status_code)
    return response


def _download(ctx: RequestContext, bucket: str, key: str) -> Response:
    """Stream one object (Range, conditional GET and HEAD handled by werkzeug)."""
    if not ctx.store.bucket_exists(bucket):
        raise NotFound("no such bucket")
    authorise(ctx, bucket)  # before looking the key up: no probing of private buckets
    try:
        obj = ctx.store.stat(bucket, key)
    except EmulatorError as exc:
        raise NotFound("no such file or directory") from exc
    if obj.status == 1:
        raise Forbidden("the file is disabled (chstatus 1)")
    try:
        source = ctx.store.blob_source(obj.blob)
    except FileNotFoundError as exc:  # deleted between the stat and now
        raise NotFound("no such file or directory") from exc
    try:
        response = send_file(
            source, ctx.request.environ, mimetype=obj.mime,
            as_attachment=bool(ctx.request.args.get("attname")),
            download_name=ctx.request.args.get("attname") or None,
            conditional=True, etag=obj.hash, last_modified=obj.put_time / 10_000_000, max_age=None,
        )
    except RequestedRangeNotSatisfiable:
        close = getattr(source, "close", None)
        if callable(close):
            close()
        return json_response({"error": "requested range not satisfiable"}, status=416,
                             headers={"Content-Range": f"bytes */{obj.fsize}"})
    for name, value in obj.metadata.items():
        header = name if name.lower().startswith("x-qn-meta-") else f"X-Qn-Meta-{name}"
        response.headers[header] = value
    return response


RULES: list[Rule] = [
    Rule("/dl/<bucket>/<path:key>", endpoint=download, methods=["GET", "HEAD"]),
]
