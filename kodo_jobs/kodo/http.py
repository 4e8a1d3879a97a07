"""The one seam between the client and the HTTP libraries.

Only this module catches transport exceptions and reads HTTP status codes; it turns them
into the :mod:`kodo_jobs.kodo.errors` tree (status, Kodo code, message, X-Reqid, method and a
URL with secrets stripped). Every request carries connect and read timeouts. Backup hosts are
tried in order when a host gives no answer or a 5xx (``RetryableError`` other than 573).

Transport. Requests skip ``requests`` (body encoded to bytes up front, no retries, no
redirects): ``http://`` bases go to :mod:`kodo_jobs.kodo.http1` keep-alive sockets, ``https://``
bases (and bodies of unknown length, which need chunked encoding) to urllib3 connection pools,
one per base URL. A small upload costs about a third of the client CPU it cost through
``requests``, whose settings merge, hooks, cookie jar and body preparation, and then
``http.client``'s header handling, dominated a fresh sync of small files. The wire is the same
(URL requoted as ``requests`` does, ``Content-Length`` always sent, certifi's CA bundle for https).
``HttpClient.session`` is still a ``requests.Session``: streaming downloads and the clock probe
use it, and response hooks registered in ``session.hooks["response"]`` are called for every
lean answer too, with a ``requests.Response`` built only when such a hook exists. A caller that
passes its own ``session=`` keeps every request on that session (it may mount adapters).
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from . import errors
from .config import Timeouts
from .http1 import Http1Error, Http1Pool, Http1Refused, Http1Timeout

if TYPE_CHECKING:
    import requests
    import urllib3

    AuthBase = Callable[[requests.PreparedRequest], requests.PreparedRequest]
    """A ``requests`` auth: our signers, or any callable that edits the prepared request."""

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
    exc = cls(message, **common)
    if isinstance(exc, errors.RetryableError):  # e.g. a 503 with Retry-After: the policy honours it
        exc.retry_after = parse_retry_after(headers.get("Retry-After"))
    return exc


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


_USER_AGENT = "kodo-jobs"
# characters a URL may hold as they are; anything else (``%`` included) sends the URL through
# requests' requote_uri, so the lean path signs and sends exactly what requests would have
_PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*")
_FORM = "application/x-www-form-urlencoded"


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    """``name`` (lower case) among ``headers`` in any spelling."""
    return any(key.lower() == name for key in headers)


def encode_body(method: str, data: Any, json_body: Any, headers: dict[str, str]) -> Any:
    """The body as it goes on the wire, with ``Content-Type``/``Content-Length`` set in
    ``headers`` the way ``requests`` would have set them.

    bytes and memoryview pass as they are (a 4 MiB part is never copied); str is UTF-8; a
    mapping or a sequence of pairs is form-urlencoded; ``json_body`` is dumped; any other
    iterable (a streamed multipart body) is sent as it is, with its ``len()`` when it has one.
    """
    body: Any
    if data is None and json_body is not None:
        body = json.dumps(json_body, allow_nan=False).encode("utf-8")
        if not _has_header(headers, "content-type"):
            headers["Content-Type"] = "application/json"
    elif data is None:
        body = None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        body = data
    elif isinstance(data, str):
        body = data.encode("utf-8")
    elif isinstance(data, (Mapping, list, tuple)):
        body = urlencode(list(data.items()) if isinstance(data, Mapping) else list(data), doseq=True).encode()
        if not _has_header(headers, "content-type"):
            headers["Content-Type"] = _FORM
    else:
        body = data
    if not _has_header(headers, "content-length"):
        if body is None:
            if method not in ("GET", "HEAD"):
                headers["Content-Length"] = "0"
        elif isinstance(body, memoryview):
            headers["Content-Length"] = str(body.nbytes)
        elif hasattr(body, "__len__"):
            headers["Content-Length"] = str(len(body))
    return body


def _hook_response(method: str, url: str, headers: Mapping[str, str], body: Any, status: int,
                   resp_headers: Mapping[str, str], content: bytes, elapsed: float) -> requests.Response:
    """What a response hook sees of a lean request: a real ``requests.Response`` with
    ``request.method``/``url``/``headers``, ``status_code``, ``headers``, ``url``, ``elapsed``
    and the content (built only when a hook is registered)."""
    import requests
    from requests.structures import CaseInsensitiveDict

    req = requests.PreparedRequest()
    req.method, req.url, req.headers = method, url, CaseInsensitiveDict(headers)
    req.body = body if isinstance(body, (bytes, str)) or body is None else None
    resp = requests.Response()
    resp.status_code = status
    resp.headers = CaseInsensitiveDict(resp_headers)
    resp._content = content
    resp.url = url
    resp.request = req
    resp.elapsed = datetime.timedelta(seconds=elapsed)
    resp.encoding = None
    return resp


ResponseObserver = Callable[[Mapping[str, str], float], None]
"""Called with every answer's headers and the seconds it took (see :meth:`HttpClient.observe`)."""


def _new_session(pool_size: int) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    # no proxies/netrc from the environment: about 30% less CPU per request, and a
    # job runner must not be redirected by a stray HTTP_PROXY
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpClient:
    """urllib3 pools per base URL (the lean path) or one caller-given ``requests.Session``, and
    the host failover walk. ``session`` is a pooled ``requests.Session`` (``trust_env=False``),
    created on first use: a run that only talks through the lean path never imports
    ``requests`` (about 30 ms of start-up with its charset detection and cookie jar)."""

    def __init__(self, timeouts: Timeouts = Timeouts(), *, session: requests.Session | None = None,
                 pool_size: int = 16) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.timeouts = timeouts
        self._own_session = session is None
        self._pool_size = pool_size
        # urllib3 is imported on the first https (or chunked) request: a run against http://
        # hosts never loads it (~40 ms of start-up)
        self._pools: dict[str, tuple[urllib3.HTTPConnectionPool | Http1Pool, str]] = {}
        self._pools_lock = threading.Lock()
        self._u3_timeout: tuple[Timeouts, urllib3.Timeout] | None = None
        self._session = session
        self._observers: list[ResponseObserver] = []

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` (streaming downloads, probes, response hooks); made on first use."""
        if self._session is None:
            with self._pools_lock:
                if self._session is None:
                    self._session = _new_session(self._pool_size)
        return self._session

    def observe(self, observer: ResponseObserver) -> None:
        """Call ``observer(headers, seconds)`` for every answer from now on (either path)."""
        self._observers.append(observer)

    def unobserve(self, observer: ResponseObserver) -> None:
        """Stop calling ``observer`` (no error when it is not registered)."""
        with contextlib.suppress(ValueError):
            self._observers.remove(observer)

    def close(self) -> None:
        """Close the pooled connections (only of a session this object created)."""
        with self._pools_lock:
            pools, self._pools = self._pools, {}
        for pool, _ in pools.values():
            pool.close()
        if self._own_session and self._session is not None:
            self._session.close()

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
        ``auth`` is a :class:`~kodo_jobs.kodo.auth.Signer` (any other ``requests`` auth object
        keeps the request on the ``requests`` session).
        """
        if not bases:
            raise errors.BadRequest(f"no host configured for {method} {path}")
        last: errors.KodoError | None = None
        codes = tuple(restart_codes)
        # auth.py imports this module (through clock.py): a signer is recognised by its sign()
        lean = self._own_session and (auth is None or hasattr(auth, "sign"))
        if lean:
            sent_headers = dict(headers or {})
            body = encode_body(method, data, json_body, sent_headers)
        for base in bases:
            url = base.rstrip("/") + path
            try:
                if lean:
                    return self._lean(method, base, url, params=params, body=body, headers=sent_headers,
                                      auth=auth, restart_codes=codes, fusion=fusion)
                return self._once(method, url, params=params, data=data, json_body=json_body,
                                  headers=headers, auth=auth, restart_codes=codes, fusion=fusion)
            except (errors.TransportError, errors.ServerError) as exc:
                last = exc
                if not failover:
                    raise
        assert last is not None
        raise last

    def _pool(self, base: str) -> tuple[urllib3.HTTPConnectionPool | Http1Pool, str]:
        """The pool of ``base``'s scheme://host:port and that origin (created on first use):
        :class:`~kodo_jobs.kodo.http1.Http1Pool` for http, urllib3's for https."""
        found = self._pools.get(base)
        if found is not None:
            return found
        with self._pools_lock:
            found = self._pools.get(base)
            if found is None:
                parts = urlsplit(base)
                scheme = (parts.scheme or "http").lower()
                if scheme not in ("http", "https") or not parts.hostname:
                    raise errors.TransportError(f"unsupported base URL {redact_url(base)}")
                pool: urllib3.HTTPConnectionPool | Http1Pool
                if scheme == "https":
                    import urllib3
                    from requests.utils import DEFAULT_CA_BUNDLE_PATH
                    pool = urllib3.HTTPSConnectionPool(parts.hostname, parts.port, maxsize=self._pool_size,
                                                       block=False, retries=False, cert_reqs="CERT_REQUIRED",
                                                       ca_certs=DEFAULT_CA_BUNDLE_PATH)
                else:
                    pool = Http1Pool(parts.hostname, parts.port, self._pool_size,
                                     host_header=parts.netloc.rpartition("@")[2])
                found = (pool, f"{parts.scheme}://{parts.netloc}")
                self._pools[base] = found
        return found

    def _timeout(self) -> urllib3.Timeout:
        import urllib3

        cached = self._u3_timeout
        if cached is None or cached[0] is not self.timeouts:
            cached = (self.timeouts, urllib3.Timeout(connect=self.timeouts.connect, read=self.timeouts.read))
            self._u3_timeout = cached
        return cached[1]

    def _lean(
        self, method: str, base: str, url: str, *, params: Any, body: Any, headers: dict[str, str],
        auth: AuthBase | None, restart_codes: tuple[int, ...], fusion: bool,
    ) -> KodoResponse:
        pool, origin = self._pool(base)
        if params:
            query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params),
                              doseq=True)
            url += ("&" if "?" in url else "?") + query
        if _PLAIN_URL.fullmatch(url) is None:
            from requests.utils import requote_uri

            url = requote_uri(url)
        target = url[len(origin):] if url.startswith(origin) else (urlsplit(url).path or "/")
        if not target.startswith("/"):
            target = "/" + target
        sent = dict(headers)
        if auth is not None:
            sent.update(auth.sign(method, url, sent, body))  # type: ignore[attr-defined]
        if not _has_header(sent, "user-agent"):
            sent["User-Agent"] = _USER_AGENT
        started = time.perf_counter()
        if isinstance(pool, Http1Pool) and (body is None or _has_header(sent, "content-length")):
            status, resp_headers, content = self._http1(pool, method, target, url, sent, body)
        else:
            status, resp_headers, content = self._urllib3(pool, method, target, url, sent, body)
        elapsed = time.perf_counter() - started
        for observer in list(self._observers):
            observer(resp_headers, elapsed)
        session = self._session
        hooks = session.hooks.get("response") if session is not None else None
        if hooks:
            answer = _hook_response(method, url, sent, body, status, resp_headers, content, elapsed)
            for hook in list(hooks):
                hook(answer)
        return _finish(method, url, status, content, resp_headers, restart_codes, fusion)

    def _http1(self, pool: Http1Pool, method: str, target: str, url: str, headers: dict[str, str],
               body: Any) -> tuple[int, Mapping[str, str], bytes]:
        timeouts = self.timeouts
        try:
            return pool.request(method, target, headers, body, connect_timeout=timeouts.connect,
                                read_timeout=timeouts.read)
        except Http1Timeout as exc:
            raise errors.RequestTimeout(f"timed out: {exc.kind}", method=method, url=redact_url(url)) from exc
        except (Http1Refused, Http1Error) as exc:
            raise errors.TransportError("no answer: ConnectionError", method=method,
                                        url=redact_url(url)) from exc

    def _urllib3(self, pool: urllib3.HTTPConnectionPool | Http1Pool, method: str, target: str, url: str,
                 headers: dict[str, str], body: Any) -> tuple[int, Mapping[str, str], bytes]:
        from urllib3 import exceptions as u3

        if isinstance(pool, Http1Pool):  # a body of unknown length: chunked, which only urllib3 sends
            pool = self._chunking_pool(pool)
        try:
            resp = pool.urlopen(method, target, body=body, headers=headers, retries=False, redirect=False,
                                timeout=self._timeout(), assert_same_host=False, preload_content=True)
            return resp.status, resp.headers, resp.data
        except (u3.ReadTimeoutError, u3.ConnectTimeoutError) as exc:
            if isinstance(exc, u3.NewConnectionError):  # refused / unresolvable: not a timeout
                raise errors.TransportError("no answer: ConnectionError", method=method,
                                            url=redact_url(url)) from exc
            kind = "ReadTimeout" if isinstance(exc, u3.ReadTimeoutError) else "ConnectTimeout"
            raise errors.RequestTimeout(f"timed out: {kind}", method=method, url=redact_url(url)) from exc
        except u3.SSLError as exc:
            raise errors.TransportError("no answer: SSLError", method=method, url=redact_url(url)) from exc
        except (u3.HTTPError, OSError) as exc:
            raise errors.TransportError("no answer: ConnectionError", method=method,
                                        url=redact_url(url)) from exc

    def _chunking_pool(self, pool: Http1Pool) -> urllib3.HTTPConnectionPool:
        """A urllib3 pool to the same plain-http host (made on first use), for chunked bodies."""
        import urllib3

        key = f"chunked:{pool.host}:{pool.port}"
        found = self._pools.get(key)
        if found is None:
            with self._pools_lock:
                found = self._pools.get(key)
                if found is None:
                    u3pool = urllib3.HTTPConnectionPool(pool.host, pool.port, maxsize=self._pool_size,
                                                        block=False, retries=False)
                    found = (u3pool, "")
                    self._pools[key] = found
        assert isinstance(found[0], urllib3.HTTPConnectionPool)
        return found[0]

    def _once(
        self, method: str, url: str, *, params: Any, data: Any, json_body: Any,
        headers: Mapping[str, str] | None, auth: AuthBase | None, restart_codes: tuple[int, ...],
        fusion: bool = False,
    ) -> KodoResponse:
        import requests

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
        for observer in list(self._observers):
            observer(resp.headers, resp.elapsed.total_seconds())
        return _finish(method, resp.url or url, resp.status_code, content, resp.headers, restart_codes, fusion)


def _finish(method: str, url: str, status: int, content: bytes, headers: Mapping[str, str],
            restart_codes: tuple[int, ...], fusion: bool) -> KodoResponse:
    """The ``KodoResponse`` of a 2xx answer, else raise the ``KodoError`` it means."""
    if fusion:
        code, message = _fusion_code(content)
        if code is not None and code != 200:
            raise fusion_error(code, message, status, headers, method=method, url=url)
    if 200 <= status < 300:
        return KodoResponse(status, content, headers, headers.get("X-Reqid", ""), method, redact_url(url))
    raise error_for_status(status, content, headers, method=method, url=url, restart_codes=restart_codes)
