"""Downloads: `GET`/`HEAD /dl/<bucket>/<key>`.

Served like a bucket domain: `Content-Type` (the object's MIME), `Content-Length`,
`ETag: "<hash>"`, `Last-Modified` (putTime), `Accept-Ranges: bytes` (a Range answers 206),
conditional requests (304), user metadata as `X-Qn-Meta-<name>`, and `attname=<name>` gives a
`Content-Disposition: attachment`. A private bucket needs a valid `e`/`token` (401); an
emulator started with an anti-leech key needs a valid `sign`/`t` (403) on every download,
signed over `/dl/<bucket>/<key>` or, as a CDN domain would see it, over `/<key>`. Disabled
objects (chstatus 1) answer 403; missing ones 404.
"""

from __future__ import annotations

import urllib.parse

from werkzeug.routing import Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from kodo_jobs.emulator import dlauth
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import EmulatorError, Forbidden, NotFound, Unauthorized
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


def download(ctx: RequestContext, bucket: str, key: str) -> Response:
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
    response = send_file(
        source, ctx.request.environ, mimetype=obj.mime,
        as_attachment=bool(ctx.request.args.get("attname")),
        download_name=ctx.request.args.get("attname") or None,
        conditional=True, etag=obj.hash, last_modified=obj.put_time / 10_000_000, max_age=None,
    )
    for name, value in obj.metadata.items():
        header = name if name.lower().startswith("x-qn-meta-") else f"X-Qn-Meta-{name}"
        response.headers[header] = value
    return response


RULES: list[Rule] = [
    Rule("/dl/<bucket>/<path:key>", endpoint=download, methods=["GET", "HEAD"]),
]
