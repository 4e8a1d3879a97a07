"""Emulator domain errors: raised anywhere (store, uploads, verify, handlers), rendered once.

Each class carries Kodo's status code (used as the HTTP status, as Kodo does for 6xx/7xx) and
a default message; ``app`` turns any of them into ``{"error": message}`` plus ``X-Reqid``.

Tree::

    EmulatorError
    ├── BadRequest            400  malformed request / parameters
    ├── Unauthorized          401  bad or missing signature / token, expired token
    ├── Forbidden             403  key outside scope, fsizeMin, mimeLimit, anti-leech, disabled
    ├── NotFound              404  no such route / resource
    ├── MethodNotAllowed      405
    ├── CrcMismatch           406  form upload crc32 mismatch
    ├── TooLarge              413  fsizeLimit
    ├── SourceFailed          478  fetch / mirror source failed
    ├── ServiceUnavailable    503  (fault injection)
    ├── Throttled             573  (fault injection)
    ├── CallbackFailed        579  upload callback failed
    ├── ServerError           599
    ├── ConditionFailed       608  ``cond`` of chgm/chstatus/lifecycle did not match
    ├── NoSuchKey             612  no such file or directory
    ├── NoSuchUpload          612  no such uploadId
    ├── KeyExists             614  file exists
    ├── NoSuchBucket          631  no such bucket
    ├── BadMarker             640  invalid list marker
    └── BadContext            701  v1 ctx unknown, stale or expired
"""

from __future__ import annotations


class EmulatorError(Exception):
    """A Kodo error answer: ``status`` is both the HTTP status and Kodo's code."""

    status: int = 599
    default_message: str = "server operation failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class BadRequest(EmulatorError):
    """The request is malformed (400)."""

    status = 400
    default_message = "bad request"


class Unauthorized(EmulatorError):
    """Signature or token missing, wrong or expired (401)."""

    status = 401
    default_message = "bad token"


class Forbidden(EmulatorError):
    """The request is understood but not allowed (403)."""

    status = 403
    default_message = "forbidden"


class NotFound(EmulatorError):
    """No such route or resource (404)."""

    status = 404
    default_message = "not found"


class MethodNotAllowed(EmulatorError):
    """The route exists but not for this method (405)."""

    status = 405
    default_message = "method not allowed"


class CrcMismatch(EmulatorError):
    """The form upload's crc32 field does not match the content (406)."""

    status = 406
    default_message = "crc32 not match"


class TooLarge(EmulatorError):
    """The upload exceeds the put policy's fsizeLimit (413)."""

    status = 413
    default_message = "request entity too large"


class SourceFailed(EmulatorError):
    """A fetch or mirror source could not be read (478)."""

    status = 478
    default_message = "source failed"


class ServiceUnavailable(EmulatorError):
    """Service unavailable (503); retryable."""

    status = 503
    default_message = "service unavailable"


class Throttled(EmulatorError):
    """Too many requests (573)."""

    status = 573
    default_message = "too many requests"


class CallbackFailed(EmulatorError):
    """The object was stored but the upload callback failed (579)."""

    status = 579
    default_message = "callback failed"


class ServerError(EmulatorError):
    """Server operation failed (599); retryable."""

    status = 599
    default_message = "server operation failed"


class ConditionFailed(EmulatorError):
    """A ``cond`` parameter did not match the object (608)."""

    status = 608
    default_message = "content changed"


class NoSuchKey(EmulatorError):
    """No such object (612)."""

    status = 612
    default_message = "no such file or directory"


class NoSuchUpload(EmulatorError):
    """Unknown, expired or finished v2 uploadId (612)."""

    status = 612
    default_message = "no such uploadId"


class KeyExists(EmulatorError):
    """The target key exists and overwriting is not allowed (614)."""

    status = 614
    default_message = "file exists"


class NoSuchBucket(EmulatorError):
    """No such bucket (631)."""

    status = 631
    default_message = "no such bucket"


class BadMarker(EmulatorError):
    """The list marker cannot be decoded (640)."""

    status = 640
    default_message = "invalid marker"


class BadContext(EmulatorError):
    """A v1 ctx is unknown, not the latest of its block, or expired (701)."""

    status = 701
    default_message = "invalid ctx or ctx expired"
