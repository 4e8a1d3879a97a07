"""The one seam between the client and ``requests``.

Only this module catches ``requests`` exceptions and reads HTTP status codes; it turns them
into the :mod:`kodo_jobs.kodo.errors` tree (status, Kodo code, message, X-Reqid, method and a
URL with secrets stripped). Every request carries connect and read timeouts. Backup hosts are
tried in order when a host gives no answer or a 5xx (``RetryableError`` other than 573).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from . import errors
from .config import Timeouts

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

    def json(self) -> Any:
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

    def json_object(self) -> dict[str, Any]:
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
    405: errors.BadRequest, 406: errors.BadRequest, 413: errors.BadRequest, 419: errors.RunFatalError,
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
    common: dict[str, Any] = {"status": status, "reqid": headers.get("X-Reqid", ""),
                              "method": method, "url": redact_url(url)}
    message = _message(content, status)
    if status in set(restart_codes):
        return errors.UploadRestartRequired(message, **common)
    if status in (573, 429, 509):
        return errors.Throttled(message, retry_after=parse_retry_after(headers.get("Retry-After")),
                                **common)
    cls = _BY_STATUS.get(status)
    if cls is None:
        if 500 <= status < 600 and status not in _PERMANENT_5XX:
            cls = errors.ServerError
        else:
            cls = errors.BadRequest if status < 500 else errors.PermanentError
    return cls(message, **common)


_FUSION_QUOTA = {400033, 400034, 400035}


def fusion_error(code: int, message: str, status: int, headers: Mapping[str, str], *, method: str,
                 url: str) -> errors.KodoError:
    """The ``KodoError`` of a CDN (fusion) body ``code`` other than 200 (kept as ``code``)."""
    common: dict[str, Any] = {"status": status, "code": code, "reqid": headers.get("X-Reqid", ""),
                              "method": method, "url": redact_url(url)}
    if code in _FUSION_QUOTA:
        return errors.QuotaExceeded(message, **common)
    if status == 401 or code == 401:
        return errors.Unauthorized(message, **common)
    if code >= 500000 or (status >= 500 and status != 501):
        return errors.ServerError(message, **common)
    return errors.BadRequest(message, **common)


def _fusion_code(content: bytes) -> tuple[int | None, str]:
    try:
        body = json.loads(content)
    except ValueError:
        return None, ""
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        return None, ""
    return int(body["code"]), str(body.get("error") or f"fusion code {body['code']}")


class HttpClient:
    """One pooled ``requests.Session`` (``trust_env=False``) and the host failover walk."""

    def __init__(self, timeouts: Timeouts = Timeouts(), *, session: requests.Session | None = None,
                 pool_size: int = 16) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.timeouts = timeouts
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            # no proxies/netrc from the environment: about 30% less CPU per request, and a
            # job runner must not be redirected by a stray HTTP_PROXY
            session.trust_env = False
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session

    def close(self) -> None:
        """Close the pooled connections (only of a session this object created)."""
        if self._own_session:
            self.session.close()

    def request(
        self, method: str, bases: Sequence[str], path: str, *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        data: Any = None, json_body: Any = None, headers: Mapping[str, str] | None = None,
        auth: AuthBase | None = None, restart_codes: Iterable[int] = (), failover: bool = True,
        fusion: bool = False,
    ) -> KodoResponse:
        """Send ``method path`` to the first base URL, then the next ones on a transport error
        or a retryable 5xx. Returns the 2xx answer or raises the ``KodoError`` of the last try.

        ``fusion``: the body's ``code`` (CDN API) decides success, whatever the HTTP status.
        """
        if not bases:
            raise errors.BadRequest(f"no host configured for {method} {path}")
        last: errors.KodoError | None = None
        codes = tuple(restart_codes)
        for base in bases:
            url = base.rstrip("/") + path
            try:
                return self._once(method, url, params=params, data=data, json_body=json_body,
                                  headers=headers, auth=auth, restart_codes=codes, fusion=fusion)
            except (errors.TransportError, errors.ServerError) as exc:
                last = exc
                if not failover:
                    raise
        assert last is not None
        raise last

    def _once(
        self, method: str, url: str, *, params: Any, data: Any, json_body: Any,
        headers: Mapping[str, str] | None, auth: AuthBase | None, restart_codes: tuple[int, ...],
        fusion: bool = False,
    ) -> KodoResponse:
        safe_url = redact_url(url)
        try:
            resp = self.session.request(
                method, url, params=params, data=data, json=json_body, headers=dict(headers or {}),
                auth=auth, timeout=self.timeouts.as_tuple(), allow_redirects=False,
            )
            content = resp.content
        except requests.Timeout as exc:
            raise errors.RequestTimeout(f"timed out: {type(exc).__name__}", method=method,
                                        url=safe_url) from exc
        except requests.RequestException as exc:
            raise errors.TransportError(f"no answer: {type(exc).__name__}", method=method,
                                        url=safe_url) from exc
        final_url = redact_url(resp.url or url)
        if fusion:
            code, message = _fusion_code(content)
            if code is not None and code != 200:
                raise fusion_error(code, message, resp.status_code, resp.headers, method=method,
                                   url=resp.url or url)
        if 200 <= resp.status_code < 300:
            return KodoResponse(resp.status_code, content, resp.headers,
                                resp.headers.get("X-Reqid", ""), method, final_url)
        raise error_for_status(resp.status_code, content, resp.headers, method=method,
                               url=resp.url or url, restart_codes=restart_codes)
