"""Put-policy enforcement at upload completion, and returnBody rendering.

``complete_upload`` is the single path every upload kind (form, v1 mkfile, v2 complete) ends
in, once its bytes sit in a temp file: deadline (401) -> policy shape (400: callbackUrl without
callbackBody, trafficLimit out of range, persistentOps with archive types) -> bucket (631) -> key (client key
unless forceSaveKey, else saveKey, else the hash) -> scope incl. prefixal (403) -> size limits
(413 / 403) -> MIME detection and mimeLimit (403) -> store (insert-only rules, 614) ->
after-upload hooks (callbacks, persistentOps) -> response body. Every check runs before the
store is touched, so a refused upload changes nothing.

Decisions where Kodo's docs are silent (documented in docs/emulator.md):
* a client MIME of ``application/octet-stream`` counts as "not given" under detectMime 0;
* mimeLimit is checked against the sniffed type when the content is recognised, else against
  the final MIME type;
* in JSON templates a variable inside a string is inserted JSON-escaped, outside a string as a
  JSON value; unknown variables become "" inside a string and ``null`` outside.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from werkzeug.wrappers import Response

from kodo_jobs.emulator.bodies import remove_quietly
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, Forbidden, TooLarge, Unauthorized
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.responses import json_response
from kodo_jobs.emulator.store import ObjectInfo
from kodo_jobs.emulator.uploads import Assembled
from kodo_jobs.emulator.verify import PutPolicy

OCTET = "application/octet-stream"
MAX_KEY_BYTES = 750
UploadKind = Literal["form", "v1", "v2"]

_VAR = re.compile(r"\$\(([^)]*)\)|\$\{([^}]*)\}")


@dataclass
class UploadRequest:
    """What the client said about an upload besides its bytes."""

    kind: UploadKind
    client_key: str | None = None
    fname: str = ""
    client_mime: str | None = None
    custom_vars: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    md5: str | None = None


TRAFFIC_LIMIT_RANGE = (819_200, 838_860_800)  # bit/s, as Kodo documents for trafficLimit


def check_policy_shape(policy: PutPolicy) -> None:
    """400 for policy combinations Kodo refuses outright (checked before anything is stored)."""
    if policy.get("callbackUrl") and not policy.get("callbackBody"):
        raise BadRequest("callbackBody is required with callbackUrl")
    traffic = policy.get("trafficLimit")
    if traffic is not None:
        low, high = TRAFFIC_LIMIT_RANGE
        if isinstance(traffic, bool) or not isinstance(traffic, int) or not low <= traffic <= high:
            raise BadRequest(f"trafficLimit must be within {low}..{high} bit/s")
    if policy.get("persistentOps") and policy.int_field("fileType", 0) in (2, 3):
        raise BadRequest("persistentOps cannot be used with archive file types")


def check_deadline(ctx: RequestContext, policy: PutPolicy) -> None:
    """401 once the token's deadline has passed."""
    if policy.deadline < ctx.now():
        raise Unauthorized("token out of date")


def _lookup(variables: JsonObject, name: str) -> tuple[bool, Any]:
    if name in variables:
        return True, variables[name]
    head, *rest = name.split(".")
    if head not in variables or not rest:
        return False, None
    value: Any = variables[head]
    for part in rest:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def render_template(template: str, variables: JsonObject, *, mode: str = "json") -> str:
    """Substitute ``$(name)`` / ``${name}`` (dotted sub-fields allowed, ``x:`` custom vars).

    ``mode``: ``"json"`` (escape inside strings, JSON values outside), ``"form"``
    (URL-encoded values, for callbackBody forms) or ``"text"`` (plain, for saveKey).
    """
    out: list[str] = []
    in_string = False
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "$":
            m = _VAR.match(template, i)
            if m:
                name = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
                found, value = _lookup(variables, name)
                out.append(_format(found, value, mode, in_string))
                i = m.end()
                continue
        if mode == "json":
            if ch == "\\" and in_string and i + 1 < n:
                out.append(template[i: i + 2])
                i += 2
                continue
            if ch == '"':
                in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def _format(found: bool, value: Any, mode: str, in_string: bool) -> str:
    if mode == "json":
        if not found or value is None:
            return "" if in_string else "null"
        if in_string:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return json.dumps(text, ensure_ascii=False)[1:-1]
        return json.dumps(value, ensure_ascii=False)
    text = "" if not found or value is None else (value if isinstance(value, str) else json.dumps(value))
    return quote(text, safe="") if mode == "form" else text


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/x-gzip"),
    (b"BM", "image/bmp"),
)


TEXT = "text/plain"
"""What :func:`sniff` says of printable UTF-8 content: text, of no more precise type."""


def sniff(head: bytes) -> str | None:
    """MIME type recognised from the first bytes, or None."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    if head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return TEXT
    return None


def _by_name(name: str) -> str | None:
    guess, _ = mimetypes.guess_type(name, strict=False)
    return guess


def detect_mime(policy: PutPolicy, req: UploadRequest, key: str, head: bytes) -> str:
    """The object's MIME type under ``detectMime`` (see the module docstring)."""
    mode = policy.int_field("detectMime", 0)
    client = req.client_mime or None
    if mode == -1:
        return client or OCTET
    sniffed = sniff(head)
    if mode == 1:
        # Content first, as Kodo does, but text content only says "some text": the name says
        # which text (a stylesheet, an SVG, a script), so a site synced with detectMime 1 is
        # served with the same types as one uploaded by name.
        if sniffed is not None and sniffed != TEXT:
            return sniffed
        return _by_name(req.fname) or _by_name(key) or sniffed or OCTET
    if client and client != OCTET:
        return client
    return _by_name(req.fname) or _by_name(key) or sniffed or OCTET


def mime_allowed(limit: str, mime: str) -> bool:
    """Whether ``mime`` passes a ``mimeLimit`` list (``;``-separated, ``*`` wildcards, ``!`` negates)."""
    negate = limit.startswith("!")
    patterns = [p.strip() for p in limit.lstrip("!").split(";") if p.strip()]
    hit = any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), mime) for p in patterns)
    return not hit if negate else hit


def _ext(fname: str, mime: str) -> str:
    dot = fname.rfind(".")
    if dot > 0 and "/" not in fname[dot:]:
        return fname[dot:]
    return mimetypes.guess_extension(mime, strict=False) or ""


def magic_variables(ctx: RequestContext, policy: PutPolicy, req: UploadRequest, *, key: str, etag: str,
                    fsize: int, mime: str, bucket: str) -> JsonObject:
    """Every magic and custom variable of one upload (shared by returnBody, saveKey, callbacks)."""
    now = time.localtime(ctx.now())
    fname = req.fname
    dot = fname.rfind(".")
    variables: JsonObject = {
        "bucket": bucket, "key": key, "etag": etag, "fname": fname, "fsize": fsize, "mimeType": mime,
        "endUser": policy.get("endUser", ""), "ext": _ext(fname, mime),
        "fprefix": fname[:dot] if dot > 0 else fname, "keybase": key.rsplit("/", 1)[-1],
        "uuid": str(uuid.uuid4()), "year": f"{now.tm_year:04d}", "mon": f"{now.tm_mon:02d}",
        "day": f"{now.tm_mday:02d}", "hour": f"{now.tm_hour:02d}", "min": f"{now.tm_min:02d}",
        "sec": f"{now.tm_sec:02d}",
    }
    variables.update(req.custom_vars)
    return variables


def _choose_key(ctx: RequestContext, policy: PutPolicy, req: UploadRequest, content: Assembled,
                head: bytes) -> str:
    force = bool(policy.get("forceSaveKey", False))
    save_key = policy.get("saveKey", "")
    if force and not save_key:
        raise BadRequest("forceSaveKey needs a saveKey")
    if req.client_key is not None and not force:
        return req.client_key
    if save_key:
        provisional_mime = detect_mime(policy, req, "", head)
        variables = magic_variables(ctx, policy, req, key="", etag=content.hash, fsize=content.fsize,
                                    mime=provisional_mime, bucket=policy.bucket)
        return render_template(str(save_key), variables, mode="text")
    return content.hash


def _check_scope(policy: PutPolicy, key: str) -> None:
    if policy.scope_key is None:
        return
    if policy.prefixal:
        if not key.startswith(policy.scope_key):
            raise Forbidden("key doesn't match scope")
    elif key != policy.scope_key:
        raise Forbidden("key doesn't match scope")


def _insert_only(policy: PutPolicy, kind: UploadKind) -> bool:
    if policy.int_field("insertOnly", 0):
        return True
    if policy.scope_key is None:
        return kind != "v1"  # Kodo: resumable v1 with a bucket-only scope overwrites
    return policy.prefixal


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(512)


def complete_upload(ctx: RequestContext, policy: PutPolicy, req: UploadRequest, content: Assembled) -> Response:
    """Enforce the policy, store the object, run the hooks and build the answer.

    ``content.path`` is consumed (moved into the store, or deleted on refusal); ``content.data``
    (a small form upload) is stored inline.
    """
    try:
        check_deadline(ctx, policy)
        check_policy_shape(policy)
        ctx.store.require_bucket(policy.bucket)
        source = content.data if content.data is not None else content.path
        if source is None:
            raise ValueError("an upload's content has neither a file nor bytes")
        head = source[:512] if isinstance(source, bytes) else _head(source)
        key = _choose_key(ctx, policy, req, content, head)
        if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise BadRequest(f"invalid key: 1..{MAX_KEY_BYTES} bytes")
        _check_scope(policy, key)
        limit = policy.int_field("fsizeLimit", 0)
        if limit and content.fsize > limit:
            raise TooLarge("file size too large")
        minimum = policy.int_field("fsizeMin", 0)
        if minimum and content.fsize < minimum:
            raise Forbidden("file size too small")
        mime = detect_mime(policy, req, key, head)
        mime_limit = policy.get("mimeLimit", "")
        if mime_limit and not mime_allowed(str(mime_limit), sniff(head) or mime):
            raise Forbidden("file mimeType not allowed")
        file_type = policy.int_field("fileType", 0)
        if file_type not in (0, 1, 2, 3, 4):
            raise BadRequest("invalid fileType")
        obj = ctx.store.put_object(
            policy.bucket, key, source, mime=mime, fsize=content.fsize, hash=content.hash,
            md5=req.md5, end_user=policy.get("endUser"), file_type=file_type,
            metadata={k[len("x-qn-meta-"):]: v for k, v in req.metadata.items()},
            delete_after_days=policy.int_field("deleteAfterDays", 0), parts=content.parts,
            insert_only=_insert_only(policy, req.kind),
        )
    finally:
        if content.path is not None:
            remove_quietly(content.path)
    return answer(ctx, policy, req, obj)


def answer(ctx: RequestContext, policy: PutPolicy, req: UploadRequest, obj: ObjectInfo) -> Response:
    """Run the after-upload hooks, then render returnBody / the default body / a returnUrl redirect."""
    ctx.upload_vars = magic_variables(ctx, policy, req, key=obj.key, etag=obj.hash, fsize=obj.fsize,
                                      mime=obj.mime, bucket=obj.bucket)
    replacement = ctx.emulator.after_upload(ctx, policy, obj, dict(req.custom_vars))
    if replacement is not None:
        return json_response(replacement)
    return_body = policy.get("returnBody", "")
    if return_body:
        text = render_template(str(return_body), ctx.upload_vars)
    else:
        body: JsonObject = {"hash": obj.hash, "key": obj.key}
        if ctx.upload_vars.get("persistentId"):
            body["persistentId"] = ctx.upload_vars["persistentId"]
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return_url = policy.get("returnUrl", "")
    if return_url and req.kind == "form":
        token = base64.urlsafe_b64encode(text.encode("utf-8")).decode()
        sep = "&" if "?" in str(return_url) else "?"
        return Response(status=303, headers={"Location": f"{return_url}{sep}upload_ret={token}"})
    return Response(text.encode("utf-8"), status=200, content_type="application/json")
