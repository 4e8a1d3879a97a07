"""io service: `/fetch` (download a URL into a bucket) and `/prefetch` (refresh from the mirror).

Sources are read only from loopback addresses (`emulator.remote`); a refused, missing or
failing source answers 478 like Kodo's "mirror/source failed". A bucket's mirror origin is set
with the admin route `POST /_emulator/mirror {"bucket": B, "source": "http://127.0.0.1:P/base/"}`
(`"source": null` removes it); `prefetch` of a bucket without one answers 612 (Kodo's status
for that case is undocumented: 612 says "nothing to fetch this key from" and the SDK does not
retry it).
"""

from __future__ import annotations

import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator import services
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, NoSuchKey
from kodo_jobs.emulator.responses import empty_ok, json_response
from kodo_jobs.emulator.verify import b64decode_str, decode_entry


def fetch(ctx: RequestContext, src: str, entry: str, host: str | None = None) -> Response:
    """`POST /fetch/<b64 url>/to/<entry>[/host/<b64 host>]`: store the URL's content."""
    ctx.require_mgmt_auth()
    url = b64decode_str(src)
    bucket, key = decode_entry(entry)
    host_header = b64decode_str(host) if host else None
    info = services.fetch_into(ctx.store, url, bucket, key, host_header)
    return json_response({"fsize": info.fsize, "hash": info.hash, "key": info.key, "mimeType": info.mime})


def prefetch(ctx: RequestContext, entry: str) -> Response:
    """`POST /prefetch/<entry>`: (re)fetch `<mirror source><key>` into the bucket."""
    ctx.require_mgmt_auth()
    bucket, key = decode_entry(entry)
    if not key:
        raise BadRequest("prefetch needs a key")
    ctx.store.require_bucket(bucket)
    source = services.of(ctx).mirror_of(bucket)
    if source is None:
        raise NoSuchKey(f"bucket {bucket} has no mirror source; set one with POST /_emulator/mirror")
    services.fetch_into(ctx.store, source + key, bucket, key)
    return empty_ok()


def mirror(ctx: RequestContext) -> Response:
    """`POST /_emulator/mirror {"bucket", "source"}` (admin): set or clear a mirror origin."""
    try:
        doc = json.loads(ctx.body() or b"{}")
        bucket, source = doc["bucket"], doc.get("source")
        if not isinstance(bucket, str) or not (source is None or isinstance(source, str)):
            raise TypeError("bucket must be a string, source a string or null")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f'expected {{"bucket": NAME, "source": "http://127.0.0.1:PORT/base/"}}: {exc}') from exc
    ctx.store.require_bucket(bucket)
    services.of(ctx).set_mirror(bucket, source)
    return json_response({"bucket": bucket, "source": source})


RULES: list[Rule] = [
    Rule("/fetch/<src>/to/<entry>", endpoint=fetch, methods=["POST"]),
    Rule("/fetch/<src>/to/<entry>/host/<host>", endpoint=fetch, methods=["POST"]),
    Rule("/prefetch/<entry>", endpoint=prefetch, methods=["POST"]),
    Rule("/_emulator/mirror", endpoint=mirror, methods=["POST"]),
]
