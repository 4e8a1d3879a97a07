"""Outbound HTTP from the emulator (fetch sources, mirror origins, callbacks, notifyURL).

The emulator only ever talks to loopback addresses: this machine has no internet, tests must
never leave it, and an emulator that fetched arbitrary URLs would be an open proxy. Every URL
(and every redirect target) is checked before a connection is opened; environment proxies are
ignored. Anything else raises `RemoteError` with a message that says why.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO

DEFAULT_TIMEOUT = 30.0
MAX_FETCH_BYTES = 1 << 36  # 64 GiB: a sanity bound, the body streams to disk
CHUNK = 1024 * 1024


class RemoteError(Exception):
    """An outbound request was refused or failed; `status` is the remote status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_loopback_host(host: str | None) -> bool:
    """True for `localhost` and loopback IP literals; host names are never resolved."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> urllib.parse.SplitResult:
    """Parse an http(s) URL and refuse it unless it points at this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RemoteError(f"unsupported URL {url!r}: only http:// and https:// are accepted")
    if not is_loopback_host(parts.hostname):
        raise RemoteError(
            f"refusing to contact {parts.hostname!r}: the emulator only reaches loopback "
            "addresses (127.0.0.1, ::1, localhost); serve the source locally"
        )
    return parts


class _LoopbackRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
        headers: HTTPMessage, newurl: str,
    ) -> urllib.request.Request | None:
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirects())


def download(
    url: str, sink: Callable[[bytes], None], *, host: str | None = None,
    timeout: float = DEFAULT_TIMEOUT, limit: int = MAX_FETCH_BYTES,
) -> str | None:
    """GET a loopback URL, handing the body to `sink` in chunks; returns its Content-Type.

    RemoteError on refusal, connection failure, a non-2xx answer or a body over `limit`.
    """
    check_url(url)
    request = urllib.request.Request(url, method="GET")
    if host:
        request.add_header("Host", host)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            total = 0
            while chunk := response.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise RemoteError(f"source {url} is larger than {limit} bytes")
                sink(chunk)
            content_type: str | None = response.headers.get("Content-Type")
            return content_type
    except urllib.error.HTTPError as exc:
        raise RemoteError(f"source {url} answered HTTP {exc.code}", exc.code) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f"cannot fetch {url}: {reason}") from exc


@dataclass(frozen=True, slots=True)
class Answer:
    """The status, content type and body of an answered POST."""

    status: int
    content_type: str | None
    body: bytes


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = DEFAULT_TIMEOUT
) -> Answer:
    """POST to a loopback URL and return the answer whatever its status.

    RemoteError only when the URL is refused or no answer arrives.
    """
    check_url(url)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers.get("Content-Type"), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get("Content-Type"), exc.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f"cannot reach {url}: {reason}") from exc


def post_json(url: str, body: bytes) -> bool:
    """POST a JSON body (pfop notifications); True when the receiver answered 2xx."""
    try:
        answer = post(url, body, {"Content-Type": "application/json"})
    except RemoteError:
        return False
    return 200 <= answer.status < 300
