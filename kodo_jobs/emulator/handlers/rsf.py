"""rsf: ``/list`` with prefix, marker, limit and delimiter, paged exactly like Kodo."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.responses import json_response


def list_objects(ctx: RequestContext) -> Response:
    """``GET|POST /list?bucket=&marker=&limit=&prefix=&delimiter=&needparts=``."""
    ctx.require_mgmt_auth()
    args = ctx.request.args
    bucket = args.get("bucket", "")
    if not bucket:
        raise BadRequest("bucket is required")
    try:
        limit = int(args.get("limit") or 1000)
    except ValueError as exc:
        raise BadRequest("invalid limit") from exc
    needparts = args.get("needparts", "") == "true"
    items, prefixes, marker = ctx.store.list(
        bucket, prefix=args.get("prefix", ""), marker=args.get("marker", ""),
        limit=limit, delimiter=args.get("delimiter", ""),
    )
    now = ctx.now()
    body: dict[str, Any] = {"marker": marker,
                            "items": [o.to_json(now, with_key=True, with_parts=needparts) for o in items]}
    if args.get("delimiter"):
        body["commonPrefixes"] = prefixes
    return json_response(body)


RULES: list[Rule] = [Rule("/list", endpoint=list_objects, methods=["GET", "POST"])]
