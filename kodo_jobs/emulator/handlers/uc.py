"""uc: region query (every service answered by this emulator) and bucket administration."""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.config import parse_bucket
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.responses import empty_ok, json_response

REGION = "z0"


def _region(host: str) -> dict[str, object]:
    domains = {"domains": [host]}
    return {
        "region": REGION, "ttl": 86400,
        "up": {"domains": [host], "old": [], "acc_domains": []},
        "io": domains, "io_src": domains, "uc": domains, "rs": domains, "rsf": domains,
        "api": domains, "s3": {"domains": [host], "region_alias": "cn-east-1"},
    }


def query_v4(ctx: RequestContext) -> Response:
    """``GET /v4/query?ak=&bucket=``: this emulator's own host:port for every service (no auth)."""
    return json_response({"hosts": [_region(ctx.host())]})


def query_v2(ctx: RequestContext) -> Response:
    """``GET /v2/query``: the older single-region shape."""
    main = {"main": [ctx.host()], "backup": []}
    return json_response({
        "region": REGION, "ttl": 86400,
        "up": {"acc": main, "src": main, "old_acc": main, "old_src": main},
        "io": {"src": main}, "io_src": {"src": main}, "rs": {"acc": main}, "rsf": {"acc": main},
        "api": {"acc": main},
    })


def buckets(ctx: RequestContext) -> Response:
    """``POST /buckets``: every bucket name."""
    ctx.require_mgmt_auth()
    return json_response(ctx.store.list_buckets())


def buckets_v3(ctx: RequestContext) -> Response:
    """``POST /v3/buckets?region=``: buckets with their region."""
    ctx.require_mgmt_auth()
    items = [{"name": b, "region": REGION, "private": int(ctx.store.is_private(b))}
             for b in ctx.store.list_buckets()]
    return json_response({"buckets": items})


def domains(ctx: RequestContext) -> Response:
    """``POST /v2/domains?tbl=<bucket>``: the emulator's host serves every bucket."""
    ctx.require_mgmt_auth()
    ctx.store.require_bucket(ctx.request.args.get("tbl", ""))
    return json_response([ctx.host()])


def bucket_info(ctx: RequestContext) -> Response:
    """``POST /v2/bucketInfo?bucket=``: a minimal bucket description."""
    ctx.require_mgmt_auth()
    name = ctx.request.args.get("bucket", "")
    private = ctx.store.is_private(name)
    return json_response({"region": REGION, "private": int(private), "zone": REGION})


def make_bucket(ctx: RequestContext, bucket: str, region: str = REGION) -> Response:
    """``POST /mkbucketv3/<bucket>/region/<region>``: create a bucket."""
    ctx.require_mgmt_auth()
    try:
        parse_bucket(bucket)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    ctx.store.create_bucket(bucket)
    return empty_ok()


def set_private(ctx: RequestContext) -> Response:
    """``POST /private?bucket=&private=0|1``: change the bucket's access."""
    ctx.require_mgmt_auth()
    args = ctx.request.values
    flag = args.get("private", "")
    if flag not in ("0", "1"):
        raise BadRequest("private must be 0 or 1")
    ctx.store.set_private(args.get("bucket", ""), flag == "1")
    return empty_ok()


RULES: list[Rule] = [
    Rule("/v4/query", endpoint=query_v4, methods=["GET"]),
    Rule("/v3/query", endpoint=query_v4, methods=["GET"]),
    Rule("/v2/query", endpoint=query_v2, methods=["GET"]),
    Rule("/buckets", endpoint=buckets, methods=["GET", "POST"]),
    Rule("/v3/buckets", endpoint=buckets_v3, methods=["GET", "POST"]),
    Rule("/v2/domains", endpoint=domains, methods=["GET", "POST"]),
    Rule("/v2/bucketInfo", endpoint=bucket_info, methods=["GET", "POST"]),
    Rule("/mkbucketv3/<bucket>/region/<region>", endpoint=make_bucket, methods=["POST"]),
    Rule("/private", endpoint=set_private, methods=["POST"]),
]
