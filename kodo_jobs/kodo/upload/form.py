"""Form upload (``POST /`` multipart on an up host): one request per object, with crc32.

Small contents are sent as one ``bytes`` body; larger files are streamed from disk in 1 MiB
chunks through a sized iterable (so the http seam sends a Content-Length, not chunked
encoding), and the file's crc32 is computed in a first pass.
"""

from __future__ import annotations

import os
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .. import errors
from ..http import HttpClient
from ..jsontypes import JsonObject

CHUNK = 1024 * 1024
IN_MEMORY_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _FileSlice:
    path: str
    size: int


class MultipartBody:
    """A multipart/form-data body over bytes segments and at most one file, re-iterable."""

    def __init__(self, segments: Sequence[bytes | _FileSlice], boundary: str) -> None:
        self._segments = segments
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._length = sum(s.size if isinstance(s, _FileSlice) else len(s) for s in segments)

    def __len__(self) -> int:
        return self._length

    def payload(self) -> bytes | MultipartBody:
        """What to hand to the http seam: plain bytes when the body is in memory (one write of a
        known length; an iterable costs a write per segment), else self (streamed from disk)."""
        if len(self._segments) == 1 and isinstance(self._segments[0], bytes):
            return self._segments[0]
        return self

    def __iter__(self) -> Iterator[bytes]:
        for seg in self._segments:
            if isinstance(seg, bytes):
                yield seg
                continue
            with open(seg.path, "rb", buffering=0) as f:
                remaining = seg.size
                while remaining:
                    chunk = f.read(min(CHUNK, remaining))
                    if not chunk:
                        raise errors.SourceChanged(f"{seg.path} shrank while it was uploaded")
                    remaining -= len(chunk)
                    yield chunk


def _field(boundary: str, name: str, value: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def build_form(
    token: str, key: str | None, content: bytes | tuple[str, int], *, crc32: int, fname: str,
    mime_type: str, custom_vars: Mapping[str, str] | None = None, metadata: Mapping[str, str] | None = None,
) -> MultipartBody:
    """The multipart body: token, key, crc32, ``x:`` vars, ``x-qn-meta-`` pairs, then the file."""
    boundary = uuid.uuid4().hex
    head: list[bytes] = [_field(boundary, "token", token)]
    if key is not None:
        head.append(_field(boundary, "key", key))
    if crc32:
        head.append(_field(boundary, "crc32", str(crc32)))
    for name, value in (custom_vars or {}).items():
        head.append(_field(boundary, name if name.startswith("x:") else f"x:{name}", value))
    for name, value in (metadata or {}).items():
        name = name if name.lower().startswith("x-qn-meta-") else f"x-qn-meta-{name}"
        head.append(_field(boundary, name, value))
    head.append((f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"{_quote(fname)}\"\r\nContent-Type: {mime_type}\r\n\r\n").encode())
    tail = f"\r\n--{boundary}--\r\n".encode()
    if isinstance(content, bytes):
        head += (content, tail)
        return MultipartBody([b"".join(head)], boundary)  # one copy of the content, not two
    path, size = content
    return MultipartBody([b"".join(head), _FileSlice(path, size), tail], boundary)


def file_crc32(path: str, size: int) -> int:
    """crc32 of the first ``size`` bytes of ``path``, read in 1 MiB chunks."""
    crc = 0
    with open(path, "rb", buffering=0) as f:
        remaining = size
        while remaining:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                raise errors.SourceChanged(f"{path} shrank while it was read")
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
    return crc


class FormUploader:
    """Sends form uploads to the up hosts it is given (failover on 5xx/transport errors)."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def send(self, hosts: Sequence[str], body: MultipartBody) -> JsonObject:
        """POST the body; returns the parsed response body (returnBody or ``{hash, key}``)."""
        resp = self._http.request("POST", hosts, "/", data=body.payload(), headers={"Content-Type": body.content_type})
        return resp.json_object()

    def upload_bytes(self, hosts: Sequence[str], token: str, key: str | None, data: bytes, *,
                     fname: str = "file_name", mime_type: str = "application/octet-stream",
                     custom_vars: Mapping[str, str] | None = None,
                     metadata: Mapping[str, str] | None = None) -> JsonObject:
        """Upload in-memory ``data``."""
        body = build_form(token, key, bytes(data), crc32=zlib.crc32(data), fname=fname, mime_type=mime_type,
                          custom_vars=custom_vars, metadata=metadata)
        return self.send(hosts, body)

    def upload_file(self, hosts: Sequence[str], token: str, key: str | None, path: str, size: int, *,
                    fname: str, mime_type: str = "application/octet-stream",
                    custom_vars: Mapping[str, str] | None = None,
                    metadata: Mapping[str, str] | None = None) -> JsonObject:
        """Upload the first ``size`` bytes of ``path`` (read once when small, streamed when not)."""
        if size <= IN_MEMORY_LIMIT:
            fd = os.open(path, os.O_RDONLY)
            try:
                data = os.pread(fd, size, 0) if size else b""
                while len(data) < size:
                    more = os.pread(fd, size - len(data), len(data))
                    if not more:
                        raise errors.SourceChanged(f"{path} shrank while it was read")
                    data += more
            finally:
                os.close(fd)
            return self.upload_bytes(hosts, token, key, data, fname=fname, mime_type=mime_type,
                                     custom_vars=custom_vars, metadata=metadata)
        body = build_form(token, key, (path, size), crc32=file_crc32(path, size), fname=fname,
                          mime_type=mime_type, custom_vars=custom_vars, metadata=metadata)
        return self.send(hosts, body)
