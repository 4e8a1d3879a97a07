"""What an HTTP answer means: a :class:`KodoResponse` for a 2xx, a ``KodoError`` for the rest.

The status table follows the SDK (kodo-protocol.md section 10.1): which statuses are retried,
which are permanent, which name a missing bucket or key; the message is the body's ``error``
(or ``message``/``desc``), and ``Retry-After`` is honoured on throttled and retryable answers.
CDN (fusion) answers carry their own ``code`` in the body. URLs in errors have their
``token``/``sign``/``e`` values replaced (:func:`redact_url`), so a signed URL never reaches a
log or a report. :mod:`kodo_jobs.kodo.http` is the only caller that reads a status.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import errors
from .jsontypes import JsonObject

_SECRET_PARAMS = re.compile(r"(?i)([?&](?:token|sign|e)=)[^&#]*")


def redact_url(url: str) -> str:
    """``url`` with the values of ``token``/``sign``/``e`` query parameters replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", url)


@dataclass(frozen=True, slots=True)
class KodoResponse:
    """A successful (2xx) answer: status, body bytes, request id and the URL it came from."""

    status: int
    content: bytes
    headers: Mapping[str, str]
    reqid: str
    method: str
    url: str

    def json(self) -> object:
        """The body parsed as JSON (``{}`` for an empty body); a non-JSON body is a ServerError."""
        if not self.content.strip():
            return {}
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise errors.ServerError(
                f"the server answered {self.status} with a body that is not JSON",
                status=self.status, reqid=self.reqid, method=self.method, url=self.url,
            ) from exc

    def json_object(self) -> JsonObject:
        """The body as a JSON object; anything else is a ServerError (a protocol violation)."""
        value = self.json()
        if not isinstance(value, dict):
            raise errors.ServerError("expected a JSON object in the response", status=self.status,
                                     reqid=self.reqid, method=self.method, url=self.url)
        return value


# statuses the SDK never retries although they are >= 500 (kodo-protocol.md §10.1)
_PERMANENT_5XX = {501, 579}
_BY_STATUS: dict[int, type[errors.KodoError]] = {
    400: errors.BadRequest, 401: errors.Unauthorized, 403: errors.Forbidden, 404: errors.NotFound,
    405: errors.BadRequest, 406: errors.BadRequest, 407: errors.ProxyRefused, 413: errors.BadRequest, 419: errors.RunFatalError,
    478: errors.BadRequest, 501: errors.BadRequest, 579: errors.PermanentError,
    608: errors.PermanentError, 612: errors.NotFound, 614: errors.AlreadyExists,
    631: errors.NoSuchBucket, 640: errors.BadRequest, 701: errors.UploadRestartRequired,
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _message(content: bytes, status: int) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        text = content.decode("utf-8", "replace").strip()
        return text[:200] or f"HTTP {status}"
    if isinstance(body, dict):
        for name in ("error", "message", "desc"):
            if isinstance(body.get(name), str) and body[name]:
                return str(body[name])
    return f"HTTP {status}"


def error_for_status(
    status: int, content: bytes, headers: Mapping[str, str], *, method: str, url: str,
    restart_codes: Iterable[int] = (),
) -> errors.KodoError:
    """The ``KodoError`` a non-2xx answer means (``restart_codes`` become UploadRestartRequired)."""
    common: errors.ErrorContext = {"status": status, "reqid": headers.get("X-Reqid", ""),
                                   "method": method, "url": redact_url(url)}
    message = _message(content, status)
    if status == 407:
        message = f"the proxy asks for authentication (407; put user:password in the proxy URL): {message}"
    if status in set(restart_codes):
        return errors.UploadRestartRequired(message, **common)
    if status in (573, 429, 509):
        return errors.Throttled(message, retry_after=parse_retry_after(headers.get("Retry-After")),
                                **common)
    if status == 400:
        refined = errors.refine_bad_request(message, common)
        if refined is not None:
            return refined
    cls = _BY_STATUS.get(status)
    if cls is None:
        if 500 <= status < 600 and status not in _PERMANENT_5XX:
            cls = errors.ServerError
        else:
            cls = errors.BadRequest if status < 500 else errors.PermanentError
    exc = cls(message, **common)
    if isinstance(exc, errors.RetryableError):  # e.g. a 503 with Retry-After: the policy honours it
        exc.retry_after = parse_retry_after(headers.get("Retry-After"))
    return exc


_FUSION_QUOTA = {400033, 400034, 400035}


def fusion_error(code: int, message: str, status: int, headers: Mapping[str, str], *, method: str,
                 url: str) -> errors.KodoError:
    """The ``KodoError`` of a CDN (fusion) body ``code`` other than 200 (kept as ``code``)."""
    common: errors.ErrorContext = {"status": status, "code": code, "reqid": headers.get("X-Reqid", ""),
                                   "method": method, "url": redact_url(url)}
    if code in _FUSION_QUOTA:
        return errors.QuotaExceeded(message, **common)
    if status == 401 or code == 401:
        return errors.Unauthorized(message, **common)
    if code >= 500000 or (status >= 500 and status != 501):
        return errors.ServerError(message, **common)
    return errors.BadRequest(message, **common)


def fusion_code(content: bytes) -> tuple[int | None, str]:
    """The ``code`` and message of a CDN (fusion) answer body, or (None, "") when it has none."""
    try:
        body = json.loads(content)
    except ValueError:
        return None, ""
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        return None, ""
    return int(body["code"]), str(body.get("error") or f"fusion code {body['code']}")


__all__ = ["KodoResponse", "error_for_status", "fusion_code", "fusion_error", "parse_retry_after", "redact_url"]
