"""Errors raised by the Kodo client, classified by what the caller should do next.

Tree (the retry policy reads only the class, never the message)::

    KodoError                      status, code, message, reqid, method, url (no secrets)
    ├── RetryableError             retry with jittered exponential backoff (``retry_after``:
    │                              the server's Retry-After in seconds, when it sent one)
    │   ├── TransportError         no HTTP answer: connection refused/reset, DNS, broken pipe
    │   │   └── RequestTimeout     connect or read timeout
    │   ├── ServerError            5xx (500, 502, 503, 504) and 599
    │   └── Throttled              573: back off longer; ``retry_after`` seconds when given
    ├── UploadRestartRequired      701 (bad/expired ctx), 612 on a v2 uploadId: restart that upload
    ├── UploadPaused               not a failure: ``should_stop`` asked a chunked upload to stop
    │                              between parts; resume it later from the last saved state
    └── PermanentError             do not retry this request
        ├── BadRequest             400, 405, 406 (crc32), 413 (fsizeLimit), 478 (fetch source)...
        │   └── AccelerationUnavailable  400 "transfer acceleration is not configured": use up hosts
        ├── NotFound               612 no such file
        ├── AlreadyExists          614 file exists
        ├── Forbidden              403
        ├── RunFatalError          the whole run cannot succeed: stop it early
        │   ├── Unauthorized       401 bad/expired credentials or token
        │   ├── NoSuchBucket       631
        │   ├── WrongRegion        400 "incorrect region, please use HOST" (``use_host``)
        │   ├── NoDomain           the bucket has no domain to download from
        │   ├── TlsUntrusted       the server's certificate is not trusted (no CA bundle names it)
        │   └── ProxyRefused       the proxy refused the tunnel (CONNECT 403) or asked for auth (407)
        ├── QuotaExceeded          CDN daily quota (fusion 400033/400034/400035)
        └── SourceChanged          the local file changed while it was being uploaded

``code`` is Kodo's numeric code: the HTTP status for rs/up/io (612, 614, 631...), or the
fusion ``code`` from the body for CDN calls (e.g. 400034). ``status`` is the HTTP status, or 0
when no answer arrived. ``attempts`` is how many tries a retry loop spent before it gave up
(1 when nothing retried the request).
"""

from __future__ import annotations

import re
from typing import TypedDict, Unpack


class ErrorContext(TypedDict, total=False):
    """Where an error came from (the keyword arguments of every :class:`KodoError`)."""

    status: int
    code: int | None
    reqid: str
    method: str
    url: str


class KodoError(Exception):
    """Base class: a Kodo request failed. Carries enough to report it without secrets."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
        reqid: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code if code is not None else status
        self.reqid = reqid
        self.method = method
        self.url = url
        self.attempts = 1

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.reqid:
            parts.append(f"reqid={self.reqid}")
        if self.method and self.url:
            parts.append(f"{self.method} {self.url}")
        return " ".join(parts)


class RetryableError(KodoError):
    """Worth retrying with backoff: the same request may succeed later."""

    retry_after: float | None = None
    """Seconds the server asked to wait (its ``Retry-After``), if it said so."""


class TransportError(RetryableError):
    """No HTTP answer arrived (connection refused or reset, DNS failure, broken pipe)."""


class RequestTimeout(TransportError):
    """The connect or read timeout expired."""


class ServerError(RetryableError):
    """The server failed (5xx, 599)."""


class Throttled(RetryableError):
    """Kodo answered 573 (too many requests): back off longer than for other errors."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Unpack[ErrorContext]) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UploadRestartRequired(KodoError):
    """A resumable upload's context or uploadId expired or is unknown: restart that upload."""


class UploadPaused(KodoError):
    """A chunked upload stopped on request (``upload_file(should_stop=...)``) before all parts.

    Not a failure and not worth an immediate retry: the parts sent so far were reported
    through ``on_state``, so a later ``upload_file(resume=state)`` sends only the rest.
    ``done_bytes`` is how much of the file the server holds.
    """

    def __init__(self, message: str, *, done_bytes: int = 0, **kwargs: Unpack[ErrorContext]) -> None:
        super().__init__(message, **kwargs)
        self.done_bytes = done_bytes


class PermanentError(KodoError):
    """Retrying the same request cannot help."""


class BadRequest(PermanentError):
    """The request was malformed or refused as such (400, 405, 406, 413, 478, 640 ...)."""


class AccelerationUnavailable(BadRequest):
    """400 "transfer acceleration is not configured on this bucket": upload through the normal
    upload hosts instead (the SDK's ``AccUnavailableRetryPolicy`` does the same)."""


class NotFound(PermanentError):
    """The object does not exist (612)."""


class AlreadyExists(PermanentError):
    """The target object exists and overwriting was not allowed (614)."""


class Forbidden(PermanentError):
    """The request is not allowed (403: scope, size/mime limits, disabled object)."""


class RunFatalError(PermanentError):
    """No other request of this run can succeed either: the run should stop early."""


class Unauthorized(RunFatalError):
    """Bad or expired credentials or token (401)."""


class NoSuchBucket(RunFatalError):
    """The bucket does not exist (631)."""


class WrongRegion(RunFatalError):
    """400 "incorrect region, please use HOST": the bucket lives in another region than the hosts
    asked. With ``region: auto`` the client asks uc again; with a fixed region every other
    request of the run would fail the same way, so the run stops. ``use_host`` is Kodo's hint."""

    def __init__(self, message: str, *, use_host: str = "", **kwargs: Unpack[ErrorContext]) -> None:
        super().__init__(message, **kwargs)
        self.use_host = use_host


class NoDomain(RunFatalError):
    """The bucket has no domain bound, so Kodo serves none of its objects for download."""


class TlsUntrusted(RunFatalError):
    """TLS certificate verification failed: every request to that host will fail the same way
    until a CA bundle that trusts it is configured (``target.ca_bundle``)."""


class ProxyRefused(RunFatalError):
    """The proxy refused to carry the request (CONNECT answered 403, or 407 authentication)."""


class QuotaExceeded(PermanentError):
    """A daily quota (CDN refresh/prefetch) is used up; retry tomorrow."""


class SourceChanged(PermanentError):
    """The local file changed (size or mtime) while it was uploaded: its upload must start over.

    Retrying the same parts cannot help; the caller re-plans the file (new etag, fresh upload).
    """


_WRONG_REGION = re.compile(r"incorrect region, please use ([A-Za-z0-9.:_-]+)")
_NO_ACCELERATION = "transfer acceleration is not configured on this bucket"


def refine_bad_request(message: str, common: ErrorContext) -> KodoError | None:
    """The specific error a 400 answer's message names (wrong region, no acceleration), if any."""
    found = _WRONG_REGION.search(message)
    if found:
        return WrongRegion(message, use_host=found.group(1).rstrip("."), **common)
    if _NO_ACCELERATION in message:
        return AccelerationUnavailable(message, **common)
    return None
