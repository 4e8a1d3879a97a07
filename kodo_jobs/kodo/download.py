"""Stream one object from a download URL into a file, optionally from a byte offset (HTTP Range).

``HttpClient.request`` reads whole bodies into memory, which is right for API answers and wrong
for a 64 MiB object; this helper uses the same pooled session and timeouts, streams the body
in chunks and classifies failures through :func:`kodo_jobs.kodo.http.error_for_status`, so a
download fails with the same ``KodoError`` classes as every other call. It never logs or raises
a URL with its ``token``/``sign`` (see :func:`~kodo_jobs.kodo.http.redact_url`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from . import errors
from .http import HttpClient, error_for_status, redact_url

if TYPE_CHECKING:
    import requests

CHUNK = 256 * 1024
"""Bytes per read from the socket (and per ``on_bytes`` call)."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """How a download ended: bytes written by this call, whether the server honoured the Range,
    the object's total size (from ``Content-Range``/``Content-Length``) and its ``ETag``."""

    written: int
    resumed: bool
    total: int
    etag: str


def download_to(http: HttpClient, url: str, out: BinaryIO, *, offset: int = 0,
                on_bytes: Callable[[int], None] | None = None) -> DownloadResult:
    """GET ``url`` into ``out`` (positioned at ``offset``), asking for ``bytes=offset-``.

    A server that ignores the Range (200 instead of 206) is handled by truncating ``out`` and
    writing from byte 0 (``resumed`` is then False). 416 (the offset is at or past the end) is
    returned as a finished download with ``written=0`` when the offset equals the object size.
    ``on_bytes`` is called after every chunk (progress and bandwidth pacing hook).
    """
    import requests  # only downloads (and hooks, probes) use the requests session

    headers = {"Range": f"bytes={offset}-"} if offset > 0 else {}
    safe = redact_url(url)
    try:
        resp = http.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                timeout=http.timeouts.as_tuple())
    except requests.Timeout as exc:
        raise errors.RequestTimeout(f"timed out: {type(exc).__name__}", method="GET", url=safe) from exc
    except requests.RequestException as exc:
        raise errors.TransportError(f"no answer: {type(exc).__name__}", method="GET", url=safe) from exc
    with resp:
        if resp.status_code == 416 and offset > 0:
            total = _total_from_416(resp.headers.get("Content-Range", ""))
            if total == offset:
                return DownloadResult(0, True, total, _etag(resp.headers))
        if not 200 <= resp.status_code < 300:
            raise error_for_status(resp.status_code, resp.content, resp.headers, method="GET", url=url)
        resumed = resp.status_code == 206 and offset > 0
        if not resumed:
            out.seek(0)
            out.truncate()
        total = _total(resp, offset if resumed else 0)
        written = 0
        try:
            for chunk in resp.iter_content(CHUNK):
                out.write(chunk)
                written += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
        except requests.RequestException as exc:
            out.flush()
            raise errors.TransportError(f"connection lost after {written} bytes: {type(exc).__name__}",
                                        method="GET", url=safe) from exc
        out.flush()
        return DownloadResult(written, resumed, total, _etag(resp.headers))


def _etag(headers: requests.structures.CaseInsensitiveDict[str]) -> str:
    return headers.get("ETag", "").strip('"')


def _total(resp: requests.Response, start: int) -> int:
    rng = resp.headers.get("Content-Range", "")
    if "/" in rng and rng.rsplit("/", 1)[1].isdigit():
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length", "")
    return start + int(length) if length.isdigit() else -1


def _total_from_416(content_range: str) -> int:
    tail = content_range.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else -1


__all__ = ["CHUNK", "DownloadResult", "download_to"]
