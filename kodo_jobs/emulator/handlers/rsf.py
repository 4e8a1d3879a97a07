"""rsf: ``/list`` with prefix, marker, limit and delimiter, paged exactly like Kodo, and
``/v2/list``, the streaming form: one JSON document per line, ``{"item": <object> | null,
"dir": <common prefix> | "", "marker": <resumes right after this entry>}``, in the same order
(items and common prefixes merged by key), the last line's marker "" at the end of the
listing. ``limit`` 0 or absent streams everything (the Node.js SDK's ``listPrefixV2``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.responses import json_response
from kodo_jobs.emulator.store import ObjectInfo, Store
from kodo_jobs.emulator.store.markers import encode_marker


def _bucket_and_limit(ctx: RequestContext, default_limit: int) -> tuple[str, int]:
    """The signed listing request's bucket and limit (400 when missing or not a number >= 0)."""
    ctx.require_mgmt_auth()
    args = ctx.request.args
    bucket = args.get("bucket", "")
    if not bucket:
        raise BadRequest("bucket is required")
    try:
        limit = int(args.get("limit") or default_limit)
    except ValueError as exc:
        raise BadRequest("invalid limit") from exc
    if limit < 0:
        raise BadRequest("invalid limit")
    return bucket, limit


def list_objects(ctx: RequestContext) -> Response:
    """``GET|POST /list?bucket=&marker=&limit=&prefix=&delimiter=&needparts=``."""
    bucket, limit = _bucket_and_limit(ctx, 1000)
    args = ctx.request.args
    needparts = args.get("needparts", "") == "true"
    items, prefixes, marker = ctx.store.list(
        bucket, prefix=args.get("prefix", ""), marker=args.get("marker", ""),
        limit=limit, delimiter=args.get("delimiter", ""),
    )
    now = ctx.now()
    body: JsonObject = {"marker": marker,
                            "items": [o.to_json(now, with_key=True, with_parts=needparts) for o in items]}
    if args.get("delimiter"):
        body["commonPrefixes"] = prefixes
    return json_response(body)


_PAGE = 1000


def _v2_lines(store: Store, bucket: str, prefix: str, delimiter: str, limit: int, now: float,
              page: tuple[list[ObjectInfo], list[str], str]) -> Iterator[bytes]:
    """The lines of a v2 listing, one store page at a time (``page`` is the first, fetched by
    the handler so that its refusals are answered before the stream starts)."""
    sent = 0
    while True:
        items, prefixes, next_marker = page
        entries: list[tuple[str, ObjectInfo | None]] = [(o.key, o) for o in items]
        entries += [(p, None) for p in prefixes]
        entries.sort(key=lambda e: e[0])  # code-point order is UTF-8 byte order
        for i, (name, obj) in enumerate(entries):
            last = i == len(entries) - 1
            marker = next_marker if last else encode_marker(name, obj is None)
            doc = {"item": obj.to_json(now, with_key=True) if obj is not None else None,
                   "dir": "" if obj is not None else name, "marker": marker}
            yield json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        sent += len(entries)
        if not next_marker or (limit and sent >= limit):
            return
        want = min(_PAGE, limit - sent) if limit else _PAGE
        page = store.list(bucket, prefix=prefix, marker=next_marker, limit=want, delimiter=delimiter)


def list_objects_v2(ctx: RequestContext) -> Response:
    """``POST|GET /v2/list?bucket=&marker=&limit=&prefix=&delimiter=``: streamed listing."""
    bucket, limit = _bucket_and_limit(ctx, 0)
    args = ctx.request.args
    prefix, delimiter = args.get("prefix", ""), args.get("delimiter", "")
    first = ctx.store.list(bucket, prefix=prefix, marker=args.get("marker", ""),
                           limit=min(_PAGE, limit) if limit else _PAGE, delimiter=delimiter)
    lines = _v2_lines(ctx.store, bucket, prefix, delimiter, limit, ctx.now(), first)
    return Response(lines, status=200, content_type="application/json")


RULES: list[Rule] = [
    Rule("/list", endpoint=list_objects, methods=["GET", "POST"]),
    Rule("/v2/list", endpoint=list_objects_v2, methods=["GET", "POST"]),
]
