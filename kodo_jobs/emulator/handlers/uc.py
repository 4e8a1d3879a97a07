"""uc: region query and bucket administration.

Region queries and the bucket-domains call answer with the emulator's own ``host:port`` for
every service (the plain base URL), or, when the emulator plays Kodo's internet and the client
addressed a Kodo host, with the real host names of the bucket's region (``ucanswers``) and the
bucket's configured domains.
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.config import parse_bucket, parse_region
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, NoSuchBucket
from kodo_jobs.emulator.network import network_of, speaks_kodo
from kodo_jobs.emulator.responses import empty_ok, json_response
from kodo_jobs.emulator.ucanswers import v2_answer, v4_host_entry

REGION = "z0"


def _region(host: str) -> dict[str, object]:
    domains = {"domains": [host]}
    return {
        "region": REGION, "ttl": 86400,
        "up": {"domains": [host], "old": [], "acc_domains": []},
        "io": domains, "io_src": domains, "uc": domains, "rs": domains, "rsf": domains,
        "api": domains, "s3": {"domains": [host], "region_alias": "cn-east-1"},
    }


def _queried_bucket(ctx: RequestContext) -> str:
    """The bucket of a region query; 631 for an unknown bucket on Kodo's internet."""
    bucket = ctx.request.args.get("bucket", "")
    if not ctx.store.bucket_exists(bucket):
        raise NoSuchBucket()
    return bucket


def query_v4(ctx: RequestContext) -> Response:
    """``GET /v4/query?ak=&bucket=`` (no auth): the bucket's region (real names), or this
    emulator's own host:port for every service."""
    if speaks_kodo(ctx):
        bucket = _queried_bucket(ctx)
        return json_response({"hosts": [v4_host_entry(network_of(ctx.emulator).region_of(bucket), bucket)]})
    return json_response({"hosts": [_region(ctx.host())]})


def query_v2(ctx: RequestContext) -> Response:
    """``GET /v2/query``: the older single-region shape."""
    if speaks_kodo(ctx):
        bucket = _queried_bucket(ctx)
        return json_response(v2_answer(network_of(ctx.emulator).region_of(bucket), bucket))
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
    network = network_of(ctx.emulator)
    wanted = ctx.request.args.get("region", "")
    items = [{"name": b, "region": network.region_of(b).id, "private": int(ctx.store.is_private(b))}
             for b in ctx.store.list_buckets()]
    if wanted:
        items = [item for item in items if item["region"] == wanted]
    return json_response({"buckets": items})


def domains(ctx: RequestContext) -> Response:
    """``GET|POST /v2/domains?tbl=<bucket>``: the bucket's ``--domain`` hosts; without any, the
    emulator's own host serves every bucket (none on Kodo's internet)."""
    ctx.require_mgmt_auth()
    bucket = ctx.request.args.get("tbl", "")
    ctx.store.require_bucket(bucket)
    configured = network_of(ctx.emulator).domains_of(bucket)
    if configured:
        return json_response(list(configured))
    return json_response([] if speaks_kodo(ctx) else [ctx.host()])


def bucket_info(ctx: RequestContext) -> Response:
    """``POST /v2/bucketInfo?bucket=``: a minimal bucket description."""
    ctx.require_mgmt_auth()
    name = ctx.request.args.get("bucket", "")
    private = ctx.store.is_private(name)
    region = network_of(ctx.emulator).region_of(name).id
    return json_response({"region": region, "private": int(private), "zone": region})


def make_bucket(ctx: RequestContext, bucket: str, region: str = REGION) -> Response:
    """``POST /mkbucketv3/<bucket>/region/<region>``: create a bucket."""
    ctx.require_mgmt_auth()
    try:
        parse_bucket(bucket)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    try:
        parse_region(region, "mkbucketv3")
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    ctx.store.create_bucket(bucket)
    network_of(ctx.emulator).place(bucket, region)
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
