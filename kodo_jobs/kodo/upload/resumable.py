"""Resumable upload protocol calls: v1 (mkblk / bput / mkfile) and v2 (initiate / part /
complete / abort / list parts), one method per request, all with ``UpToken`` auth.

A stale v1 ctx (701) or an unknown/expired v2 uploadId (612) raises
``UploadRestartRequired``: the caller starts that upload over.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from .. import errors
from ..answers import KodoResponse
from ..auth import UpTokenAuth, urlsafe_b64
from ..http import HttpClient
from ..jsontypes import JsonObject

OCTET = {"Content-Type": "application/octet-stream"}


@dataclass(frozen=True, slots=True)
class BlockContext:
    """Answer of mkblk/bput: the ctx to continue with, its crc32, offset and expiry."""

    ctx: str
    crc32: int
    offset: int
    expired_at: int


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """A v2 part as the server lists it."""

    number: int
    etag: str
    size: int


def _obj(key: str | None) -> str:
    return "~" if key is None else urlsafe_b64(key)


def _pairs(custom_vars: Mapping[str, str] | None, metadata: Mapping[str, str] | None) -> str:
    path = ""
    for name, value in (custom_vars or {}).items():
        name = name if name.startswith("x:") else f"x:{name}"
        path += f"/{name}/{urlsafe_b64(value)}"
    for name, value in (metadata or {}).items():
        name = name if name.lower().startswith("x-qn-meta-") else f"x-qn-meta-{name}"
        path += f"/{name}/{urlsafe_b64(value)}"
    return path


def _block(resp: KodoResponse, data: bytes) -> BlockContext:
    body = resp.json_object()
    try:
        ctx = BlockContext(str(body["ctx"]), int(body["crc32"]), int(body.get("offset", len(data))),
                           int(body.get("expired_at", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.ServerError(f"malformed mkblk answer: {exc}", status=resp.status, reqid=resp.reqid,
                                 method=resp.method, url=resp.url) from exc
    if ctx.crc32 != zlib.crc32(data):
        # the block arrived damaged: sending it again is the fix
        raise errors.ServerError("crc32 of the uploaded block does not match", status=resp.status,
                                 reqid=resp.reqid, method=resp.method, url=resp.url)
    return ctx


class ResumableApi:
    """The raw resumable-upload requests (no planning, no state: see ``uploader``)."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    # ---- v1 -------------------------------------------------------------------------------
    def mkblk(self, hosts: Sequence[str], token: str, block_size: int, data: bytes, *,
              body: object = None) -> BlockContext:
        """Start a block of ``block_size`` bytes with its first chunk ``data``. ``body``: what
        goes on the wire instead of ``data`` itself (the same bytes, e.g. a counting view)."""
        resp = self._http.request("POST", hosts, f"/mkblk/{block_size}", data=data if body is None else body,
                                  headers=OCTET,
                                  auth=UpTokenAuth(token), restart_codes=(701,))
        return _block(resp, data)

    def bput(self, hosts: Sequence[str], token: str, ctx: str, offset: int, data: bytes) -> BlockContext:
        """Append the next chunk of a block."""
        resp = self._http.request("POST", hosts, f"/bput/{ctx}/{offset}", data=data, headers=OCTET,
                                  auth=UpTokenAuth(token), restart_codes=(701,))
        block = _block(resp, data)
        return block

    def mkfile(self, hosts: Sequence[str], token: str, file_size: int, ctxs: Sequence[str], *,
               key: str | None, fname: str | None = None, mime_type: str | None = None,
               custom_vars: Mapping[str, str] | None = None,
               metadata: Mapping[str, str] | None = None) -> JsonObject:
        """Stitch the blocks (last ctx of each, in order) into the object."""
        path = f"/mkfile/{file_size}"
        if mime_type:
            path += f"/mimeType/{urlsafe_b64(mime_type)}"
        if key is not None:
            path += f"/key/{urlsafe_b64(key)}"
        if fname:
            path += f"/fname/{urlsafe_b64(fname)}"
        path += _pairs(custom_vars, metadata)
        resp = self._http.request("POST", hosts, path, data=",".join(ctxs).encode(),
                                  headers={"Content-Type": "text/plain"}, auth=UpTokenAuth(token),
                                  restart_codes=(701,))
        return resp.json_object()

    # ---- v2 -------------------------------------------------------------------------------
    def initiate(self, hosts: Sequence[str], token: str, bucket: str, key: str | None) -> tuple[str, int]:
        """Open a multipart upload: ``(uploadId, expireAt)``."""
        resp = self._http.request("POST", hosts, f"/buckets/{bucket}/objects/{_obj(key)}/uploads",
                                  auth=UpTokenAuth(token))
        body = resp.json_object()
        upload_id, expire = body.get("uploadId"), body.get("expireAt")
        if not upload_id or not expire:
            raise errors.ServerError("initiate answered without uploadId/expireAt", status=resp.status,
                                     reqid=resp.reqid, method=resp.method, url=resp.url)
        return str(upload_id), int(expire)

    def upload_part(self, hosts: Sequence[str], token: str, bucket: str, key: str | None, upload_id: str,
                    number: int, data: bytes, *, content_md5: bool = True, body: object = None) -> str:
        """PUT one part; returns its etag. ``content_md5``: send the part's MD5 (lower-case hex, as
        the SDK does) so the server refuses a part damaged on the way; it is optional in the
        protocol and costs an MD5 pass over every byte on the client. ``body``: what goes on the
        wire instead of ``data`` itself (the same bytes, e.g. a counting view)."""
        headers = dict(OCTET, **{"Content-MD5": hashlib.md5(data).hexdigest()}) if content_md5 else OCTET
        resp = self._http.request("PUT", hosts, f"/buckets/{bucket}/objects/{_obj(key)}/uploads/{upload_id}/{number}",
                                  data=data if body is None else body, headers=headers, auth=UpTokenAuth(token),
                                  restart_codes=(612,))
        etag = resp.json_object().get("etag")
        if not etag:
            raise errors.ServerError("part upload answered without etag", status=resp.status, reqid=resp.reqid,
                                     method=resp.method, url=resp.url)
        return str(etag)

    def complete(self, hosts: Sequence[str], token: str, bucket: str, key: str | None, upload_id: str,
                 parts: Sequence[tuple[int, str]], *, fname: str | None = None, mime_type: str | None = None,
                 custom_vars: Mapping[str, str] | None = None,
                 metadata: Mapping[str, str] | None = None) -> JsonObject:
        """Finish the upload from ``(partNumber, etag)`` pairs (sorted here)."""
        body = {
            "parts": [{"etag": etag, "partNumber": n} for n, etag in sorted(parts)],
            "fname": fname, "mimeType": mime_type,
            "customVars": {(k if k.startswith("x:") else f"x:{k}"): v for k, v in custom_vars.items()}
            if custom_vars else None,
            "metadata": {(k if k.lower().startswith("x-qn-meta-") else f"x-qn-meta-{k}"): v
                         for k, v in metadata.items()} if metadata else None,
        }
        resp = self._http.request("POST", hosts, f"/buckets/{bucket}/objects/{_obj(key)}/uploads/{upload_id}",
                                  data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
                                  auth=UpTokenAuth(token), restart_codes=(612,))
        return resp.json_object()

    def abort(self, hosts: Sequence[str], token: str, bucket: str, key: str | None, upload_id: str) -> None:
        """Drop an unfinished upload and its parts."""
        self._http.request("DELETE", hosts, f"/buckets/{bucket}/objects/{_obj(key)}/uploads/{upload_id}",
                           auth=UpTokenAuth(token), restart_codes=(612,))

    def list_parts(self, hosts: Sequence[str], token: str, bucket: str, key: str | None,
                   upload_id: str, *, max_parts: int = 1000) -> Iterator[UploadedPart]:
        """Every part the server holds for ``upload_id`` (paged by part-number-marker)."""
        marker = 0
        while True:
            query = {"max-parts": max_parts}
            if marker:
                query["part-number-marker"] = marker
            resp = self._http.request(
                "GET", hosts, f"/buckets/{bucket}/objects/{_obj(key)}/uploads/{upload_id}?{urlencode(query)}",
                auth=UpTokenAuth(token), restart_codes=(612,))
            body = resp.json_object()
            for p in body.get("parts") or []:
                yield UploadedPart(int(p["partNumber"]), str(p["etag"]), int(p.get("size", 0)))
            nxt = int(body.get("partNumberMarker") or 0)
            if not nxt or nxt == marker:
                return
            marker = nxt
