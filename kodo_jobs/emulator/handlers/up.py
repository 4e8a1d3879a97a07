"""up: form upload (``POST /``), resumable v1 (mkblk / bput / mkfile) and v2 (initiate /
part / complete / abort / list parts). Bodies stream to disk; ``policy.complete_upload`` does
every put-policy check and the storing."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator import limits
from kodo_jobs.emulator.bodies import HashingFile, remove_quietly, temp_path
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, CrcMismatch, Forbidden
from kodo_jobs.emulator.etag import BLOCK, StreamDigest
from kodo_jobs.emulator.formstream import parse_form
from kodo_jobs.emulator.hostroute import check_upload_host
from kodo_jobs.emulator.multipart import parse_small
from kodo_jobs.emulator.policy import UploadRequest, check_deadline, complete_upload
from kodo_jobs.emulator.responses import empty_ok, json_response
from kodo_jobs.emulator.store.blobs import INLINE_MAX
from kodo_jobs.emulator.uploads import Assembled
from kodo_jobs.emulator.uploads.blocks import BlockAnswer
from kodo_jobs.emulator.uploads.sessions import MAX_PART
from kodo_jobs.emulator.verify import (
    PutPolicy,
    b64decode_str,
    parse_upload_token,
    upload_token_from_header,
)


def _policy_from_header(ctx: RequestContext) -> PutPolicy:
    token = upload_token_from_header(ctx.request)
    policy = parse_upload_token(token, ctx.config.access_key, ctx.config.secret_key)
    check_upload_host(ctx, policy.bucket)
    return policy


# -- form upload -----------------------------------------------------------------------------
SMALL_FORM = 4 * 1024 * 1024  # bodies up to this (by Content-Length) are parsed in memory


@dataclass(frozen=True)
class _FormContent:
    """What both multipart paths hand on: the fields, the file part's facts and its temp file."""

    form: Mapping[str, str]
    filename: str
    content_type: str | None
    path: Path | None
    digest: StreamDigest
    data: bytes | None = None
    """The file part itself when it is small enough to be stored inline (then ``path`` is None)."""


def form_upload(ctx: RequestContext) -> Response:
    """``POST /`` multipart: token, key, crc32, x:<var>, x-qn-meta-<k>, file (last)."""
    request = ctx.request
    if request.mimetype != "multipart/form-data":
        raise BadRequest("expected multipart/form-data")
    ctx.allow_body(limits.form_body_max())  # Kodo's form-upload limit, over it 413 (limits)
    spooled: list[Path] = []
    try:
        length = request.content_length
        if length is not None and length <= SMALL_FORM:
            content = _parse_small_form(ctx, length, spooled)
        else:
            content = _parse_streamed_form(ctx, request.stream, spooled)
        return _store_form(ctx, content)
    finally:
        for path in spooled:
            remove_quietly(path)


def _read_exactly(stream: IO[bytes], length: int) -> bytes:
    # werkzeug's LimitedStream raises ClientDisconnected (400) if the client stops early.
    pieces: list[bytes] = []
    got = 0
    while got < length:
        piece = stream.read(min(length - got, 64 * 1024))
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _parse_small_form(ctx: RequestContext, length: int, spooled: list[Path]) -> _FormContent:
    """The whole body in memory, split by ``multipart.parse_small``; werkzeug's parser on the
    same bytes when the lean parser declines (odd or malformed bodies keep werkzeug's answers)."""
    body = _read_exactly(ctx.request.stream, length)
    parsed = parse_small(body, ctx.request.mimetype_params.get("boundary", ""))
    if parsed is None:
        return _parse_streamed_form(ctx, io.BytesIO(body), spooled, length)
    part = parsed.files.get("file")
    if part is None:
        raise BadRequest("file is not specified in multipart")
    digest = StreamDigest()
    digest.update(part.data)
    if len(part.data) <= INLINE_MAX:  # the store keeps it in its database: no temp file
        return _FormContent(parsed.fields, part.filename, part.content_type, None, digest, bytes(part.data))
    path = temp_path(ctx.store.tmp_dir, "form")
    spooled.append(path)
    with open(path, "wb") as out:
        out.write(part.data)
    return _FormContent(parsed.fields, part.filename, part.content_type, path, digest)


def _parse_streamed_form(ctx: RequestContext, stream: IO[bytes], spooled: list[Path],
                         length: int | None = None) -> _FormContent:
    """Stream the form (``formstream``): the token, when it comes before the file, is checked
    before a byte of the file is spooled; the file part spools to disk, hashed on the way."""
    def new_spool() -> HashingFile:
        spool = HashingFile(temp_path(ctx.store.tmp_dir, "form"))
        spooled.append(spool.path)
        return spool

    def before_file(fields: Mapping[str, str]) -> None:
        if "token" in fields:
            policy = parse_upload_token(fields["token"], ctx.config.access_key, ctx.config.secret_key)
            check_deadline(ctx, policy)

    form = None
    try:
        form = parse_form(stream, ctx.request.mimetype_params.get("boundary", ""), new_spool, before_file)
        if form.spool is None:
            raise BadRequest("file is not specified in multipart")
        form.spool.flush()
        return _FormContent(form.fields, form.filename, form.content_type or None, form.spool.path,
                            form.spool.digest)
    finally:
        if form is not None and form.spool is not None and not form.spool.closed:
            form.spool.close()


def _store_form(ctx: RequestContext, content: _FormContent) -> Response:
    form = content.form
    token = form.get("token", "")
    policy = parse_upload_token(token, ctx.config.access_key, ctx.config.secret_key)
    check_upload_host(ctx, policy.bucket)
    crc = form.get("crc32")
    if crc:
        try:
            expected = int(crc)
        except ValueError as exc:
            raise BadRequest("invalid crc32") from exc
        if expected != content.digest.crc32:
            raise CrcMismatch()
    req = UploadRequest(
        kind="form",
        client_key=form.get("key", None),
        fname=content.filename,
        client_mime=content.content_type or None,
        custom_vars={k: v for k, v in form.items() if k.startswith("x:")},
        metadata={k: v for k, v in form.items() if k.startswith("x-qn-meta-")},
        md5=content.digest.md5,
    )
    assembled = Assembled(content.path, content.digest.size, content.digest.etag, data=content.data)
    return complete_upload(ctx, policy, req, assembled)


# -- resumable v1 ----------------------------------------------------------------------------
def _block_answer(ctx: RequestContext, a: BlockAnswer) -> Response:
    return json_response({"ctx": a.ctx, "checksum": a.checksum, "crc32": a.crc32, "offset": a.offset,
                          "host": f"http://{ctx.host()}", "expired_at": a.expired_at})


def mkblk(ctx: RequestContext, block_size: int) -> Response:
    """``POST /mkblk/<blockSize>``: a new block with the body as its first chunk (an expired
    token starts nothing: 401, as Kodo)."""
    check_deadline(ctx, _policy_from_header(ctx))
    ctx.allow_body(BLOCK)
    answer = ctx.uploads.v1.mkblk(block_size, ctx.request.stream, ctx.request.content_length)
    return _block_answer(ctx, answer)


def bput(ctx: RequestContext, ctx_token: str, offset: int) -> Response:
    """``POST /bput/<ctx>/<offset>``: the next chunk of a block."""
    _policy_from_header(ctx)
    ctx.allow_body(BLOCK)
    answer = ctx.uploads.v1.bput(ctx_token, offset, ctx.request.stream, ctx.request.content_length)
    return _block_answer(ctx, answer)


def mkfile(ctx: RequestContext, fsize: int, params: str = "") -> Response:
    """``POST /mkfile/<size>[/key/<b64>][/fname/<b64>][/mimeType/<b64>][/x:v/<b64>]...``."""
    policy = _policy_from_header(ctx)
    segs = [s for s in params.split("/")] if params else []
    if len(segs) % 2:
        raise BadRequest("mkfile parameters must come in name/value pairs")
    pairs = [(segs[i], b64decode_str(segs[i + 1])) for i in range(0, len(segs), 2)]
    named = dict(pairs)
    body = ctx.body().decode("ascii", "replace")
    ctxs = [c.strip() for c in body.split(",")] if body.strip() else []
    req = UploadRequest(
        kind="v1",
        client_key=named.get("key"),
        fname=named.get("fname", ""),
        client_mime=named.get("mimeType") or None,
        custom_vars={k: v for k, v in pairs if k.startswith("x:")},
        metadata={k: v for k, v in pairs if k.startswith("x-qn-meta-")},
    )
    content, block_ids = ctx.uploads.v1.assemble(fsize, ctxs)
    response = complete_upload(ctx, policy, req, content)
    ctx.uploads.v1.finish(block_ids)
    return response


# -- resumable v2 ----------------------------------------------------------------------------
def _v2_policy(ctx: RequestContext, bucket: str, obj: str) -> PutPolicy:
    policy = _policy_from_header(ctx)
    if policy.bucket != bucket:
        raise Forbidden("bucket doesn't match scope")
    if obj != "~":
        b64decode_str(obj)  # 400 on garbage
    return policy


def initiate(ctx: RequestContext, bucket: str, obj: str) -> Response:
    """``POST /buckets/<b>/objects/<obj>/uploads``: a new uploadId (7 days); an expired token
    starts nothing (401, as Kodo)."""
    check_deadline(ctx, _v2_policy(ctx, bucket, obj))
    ctx.store.require_bucket(bucket)
    upload_id, expires = ctx.uploads.v2.initiate(bucket, obj)
    return json_response({"uploadId": upload_id, "expireAt": expires})


def upload_part(ctx: RequestContext, bucket: str, obj: str, upload_id: str, part_number: int) -> Response:
    """``PUT .../uploads/<id>/<n>``: store one part (Content-MD5 checked when given)."""
    _v2_policy(ctx, bucket, obj)
    ctx.allow_body(MAX_PART)
    part = ctx.uploads.v2.put_part(upload_id, bucket, obj, part_number, ctx.request.stream,
                                ctx.request.content_length, ctx.request.headers.get("Content-MD5"))
    return json_response({"etag": part.etag, "md5": part.md5})


def _complete(ctx: RequestContext, bucket: str, obj: str, upload_id: str) -> Response:
    policy = _v2_policy(ctx, bucket, obj)
    doc = ctx.json_object("complete body", empty=b"null")
    custom = doc.get("customVars") or {}
    meta = doc.get("metadata") or {}
    if not isinstance(custom, dict) or not isinstance(meta, dict):
        raise BadRequest("customVars and metadata must be objects")
    req = UploadRequest(
        kind="v2",
        client_key=None if obj == "~" else b64decode_str(obj),
        fname=str(doc.get("fname") or ""),
        client_mime=str(doc["mimeType"]) if doc.get("mimeType") else None,
        custom_vars={str(k): str(v) for k, v in custom.items() if str(k).startswith("x:")},
        metadata={str(k): str(v) for k, v in meta.items() if str(k).startswith("x-qn-meta-")},
    )
    content = ctx.uploads.v2.assemble(upload_id, bucket, obj, doc.get("parts") or [])
    try:
        response = complete_upload(ctx, policy, req, content)
    except BaseException:
        ctx.uploads.v2.release(upload_id)  # refused (614, 403 ...): the session stays usable
        raise
    ctx.uploads.v2.finish(upload_id)
    return response


def _abort(ctx: RequestContext, bucket: str, obj: str, upload_id: str) -> Response:
    _v2_policy(ctx, bucket, obj)
    ctx.uploads.v2.abort(upload_id, bucket, obj)
    return empty_ok()


def _list_parts(ctx: RequestContext, bucket: str, obj: str, upload_id: str) -> Response:
    _v2_policy(ctx, bucket, obj)
    args = ctx.request.args
    try:
        max_parts = int(args.get("max-parts") or 1000)
        marker = int(args.get("part-number-marker") or args.get("part-number_marker") or 0)
    except ValueError as exc:
        raise BadRequest("invalid max-parts or part-number-marker") from exc
    parts, next_marker, expires = ctx.uploads.v2.list_parts(upload_id, bucket, obj, max_parts, marker)
    return json_response({
        "uploadId": upload_id, "expireAt": expires, "partNumberMarker": next_marker,
        "parts": [{"size": p.size, "etag": p.etag, "partNumber": p.part_number, "putTime": p.put_time}
                  for p in parts],
    })


def upload_session(ctx: RequestContext, bucket: str, obj: str, upload_id: str) -> Response:
    """``POST`` complete, ``DELETE`` abort, ``GET`` list parts of one v2 upload."""
    method = ctx.request.method
    if method == "POST":
        return _complete(ctx, bucket, obj, upload_id)
    if method == "DELETE":
        return _abort(ctx, bucket, obj, upload_id)
    return _list_parts(ctx, bucket, obj, upload_id)


_V2 = "/buckets/<bucket>/objects/<obj>/uploads"

RULES: list[Rule] = [
    Rule("/", endpoint=form_upload, methods=["POST"]),
    Rule("/mkblk/<int:block_size>", endpoint=mkblk, methods=["POST"]),
    Rule("/bput/<ctx_token>/<int:offset>", endpoint=bput, methods=["POST"]),
    Rule("/mkfile/<int:fsize>", endpoint=mkfile, methods=["POST"]),
    Rule("/mkfile/<int:fsize>/<path:params>", endpoint=mkfile, methods=["POST"]),
    Rule(_V2, endpoint=initiate, methods=["POST"]),
    Rule(f"{_V2}/<upload_id>", endpoint=upload_session, methods=["GET", "POST", "DELETE"]),
    Rule(f"{_V2}/<upload_id>/<int:part_number>", endpoint=upload_part, methods=["PUT"]),
]
