"""Stream one object from a download URL into a file, optionally from a byte offset (HTTP Range).

``HttpClient.request`` reads whole bodies into memory, which is right for API answers and wrong
for a 64 MiB object; this helper uses the same pooled session, proxies, CA bundle and timeouts
(:meth:`HttpClient.stream`), streams the body in chunks and classifies failures through
:func:`kodo_jobs.kodo.answers.error_for_status`, so a download fails with the same ``KodoError``
classes as every other call. It never logs or raises a URL with its ``token``/``sign`` (see
:func:`~kodo_jobs.kodo.answers.redact_url`).

Redirects (301, 302, 303, 307, 308; a bucket domain that forces https, a CDN sending to its
origin) are followed, at most :data:`~kodo_jobs.kodo.http.MAX_REDIRECTS` of them. Every hop
asks for the same ``Range``; the next URL is the ``Location`` exactly as the server wrote it
(resolved against the current URL): nothing is re-signed and no signature is added, because a
signature minted for a host the server chose would be a credential handed to that host; the
server that accepted our signed URL decides what the next one carries. A redirect from
``https`` to ``http`` is refused (it would send the rest of the transfer, and any token in the
URL, in clear). Each hop gets the proxy that applies to its own host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urljoin, urlsplit

from . import errors
from .answers import error_for_status, redact_url
from .http import MAX_REDIRECTS, HttpClient

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
    import requests

    headers = {"Range": f"bytes={offset}-"} if offset > 0 else {}
    resp = _follow(http, url, headers)
    url = resp.url or url
    safe = redact_url(url)
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


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _follow(http: HttpClient, url: str, headers: dict[str, str]) -> requests.Response:
    """The first answer that is not a redirect, after at most MAX_REDIRECTS hops."""
    for _ in range(MAX_REDIRECTS + 1):
        resp = http.stream("GET", url, headers=headers)
        location = resp.headers.get("Location")
        if resp.status_code not in _REDIRECTS or not location:
            return resp
        resp.close()
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https") or (urlsplit(url).scheme == "https" and scheme == "http"):
            raise errors.PermanentError(f"refused a redirect from {redact_url(url)} to {redact_url(target)}",
                                        status=resp.status_code, method="GET", url=redact_url(url))
        url = target
    raise errors.PermanentError(f"more than {MAX_REDIRECTS} redirects", status=resp.status_code,
                                method="GET", url=redact_url(url))


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
