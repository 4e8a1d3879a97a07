"""The one seam between the client and the network: every request goes through ``requests``.

Only this module catches transport exceptions (turned into errors by
:mod:`~kodo_jobs.kodo.transport_errors`) and reads HTTP status codes (what each means:
:mod:`~kodo_jobs.kodo.answers`); every failure becomes one of the :mod:`kodo_jobs.kodo.errors`
tree (status, Kodo code, message, X-Reqid, method and a URL with secrets stripped). Every request carries
connect and read timeouts. Backup hosts are tried in order when a host gives no answer or a
5xx (``RetryableError`` other than 573).

Transport: one pooled ``requests.Session`` per client (``pool_size`` connections per host, as
many as the run's concurrency), API calls without redirects and without retries (the run's
retry policy decides), downloads and the clock probe through :meth:`HttpClient.stream`. The
proxy of each request and the CA bundle come from :class:`~kodo_jobs.kodo.network.Network`
(environment proxies as ``requests`` reads them, or ``target.proxy``; ``target.ca_bundle``,
``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` or certifi); certificates are always verified. The
session itself keeps ``trust_env=False`` so that ``~/.netrc`` never adds credentials.

urllib3 underneath sends ``bytes``/``memoryview`` bodies as they are (a 4 MiB part is not
copied) and file-like bodies in 1 MiB blocks (:data:`BLOCKSIZE`); when a server answers before
it has read the whole body (401/413 then close) urllib3 returns that answer, which is what the
caller sees.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import errors
from .answers import KodoResponse, error_for_status, fusion_code, fusion_error, redact_url
from .config import Timeouts
from .network import Network
from .transport_errors import transport_error

if TYPE_CHECKING:
    import requests

    AuthBase = Callable[[requests.PreparedRequest], requests.PreparedRequest]
    """A ``requests`` auth: our signers, or any callable that edits the prepared request."""

Params = Mapping[str, str | int] | Sequence[tuple[str, str | int]]
"""Query parameters of a request."""

_USER_AGENT = "kodo-jobs"
BLOCKSIZE = 1024 * 1024
"""Bytes per socket write of a file-like body (urllib3's default is 16 KiB)."""
MAX_REDIRECTS = 5
"""Most redirects a download follows."""

ResponseObserver = Callable[[Mapping[str, str], float], None]
"""Called with every answer's headers and the seconds it took (see :meth:`HttpClient.observe`)."""


def _new_session(pool_size: int) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    class Adapter(HTTPAdapter):
        """``HTTPAdapter`` whose pools (direct and through a proxy) write 1 MiB blocks."""

        def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                             **pool_kwargs: object) -> None:
            pool_kwargs.setdefault("blocksize", BLOCKSIZE)
            super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: object) -> object:
            proxy_kwargs.setdefault("blocksize", BLOCKSIZE)
            return super().proxy_manager_for(proxy, **proxy_kwargs)

    session = requests.Session()
    # proxies and the CA bundle are resolved per request by Network (environment proxies
    # included); trust_env stays off so ~/.netrc never injects an Authorization header
    session.trust_env = False
    session.headers["User-Agent"] = _USER_AGENT
    session.max_redirects = MAX_REDIRECTS
    adapter = Adapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _body(data: object) -> object:
    """str as UTF-8 bytes (``http.client`` would encode it as latin-1); the rest unchanged."""
    return data.encode("utf-8") if isinstance(data, str) else data


class HttpClient:
    """The pooled ``requests.Session`` of one client, its proxy/CA settings and the host
    failover walk. The session is created on first use; a caller-given ``session=`` is used
    as it is (it may mount adapters), with the same proxy and CA settings per request."""

    def __init__(self, timeouts: Timeouts = Timeouts(), *, session: requests.Session | None = None,
                 pool_size: int = 16, network: Network | None = None) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.timeouts = timeouts
        self.network = network or Network()
        self._own_session = session is None
        self._pool_size = pool_size
        self._session = session
        self._lock = threading.Lock()
        self._proxies: dict[str, dict[str, str]] = {}
        self._verify: str | None = None
        self._observers: list[ResponseObserver] = []

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` every request goes through; made on first use."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = _new_session(self._pool_size)
        return self._session

    def observe(self, observer: ResponseObserver) -> None:
        """Call ``observer(headers, seconds)`` for every answer from now on."""
        self._observers.append(observer)

    def unobserve(self, observer: ResponseObserver) -> None:
        """Stop calling ``observer`` (no error when it is not registered)."""
        with contextlib.suppress(ValueError):
            self._observers.remove(observer)

    def close(self) -> None:
        """Close the pooled connections (only of a session this object created)."""
        if self._own_session and self._session is not None:
            self._session.close()

    def proxies_for(self, url: str) -> dict[str, str]:
        """The proxies of a request to ``url`` (cached per scheme://host:port; empty: direct)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(origin)
        if found is None:
            found = self.network.proxies_for(origin + "/")
            self._proxies[origin] = found
        return found

    def verify(self) -> str:
        """The CA bundle https answers are verified against (resolved once)."""
        if self._verify is None:
            self._verify = self.network.verify()
        return self._verify

    def request(
        self, method: str, bases: Sequence[str], path: str, *,
        params: Params | None = None,
        data: object = None, json_body: object = None, headers: Mapping[str, str] | None = None,
        auth: AuthBase | None = None, restart_codes: Iterable[int] = (), failover: bool = True,
        fusion: bool = False,
    ) -> KodoResponse:
        """Send ``method path`` to the first base URL, then the next ones on a transport error
        or a retryable 5xx. Returns the 2xx answer or raises the ``KodoError`` of the last try.

        ``fusion``: the body's ``code`` (CDN API) decides success, whatever the HTTP status.
        ``auth`` is a ``requests`` auth (our signers sign the prepared request's exact bytes).
        """
        if not bases:
            raise errors.BadRequest(f"no host configured for {method} {path}")
        last: errors.KodoError | None = None
        codes = tuple(restart_codes)
        body = _body(data)
        for base in bases:
            url = base.rstrip("/") + path
            try:
                return self._once(method, url, params=params, data=body, json_body=json_body,
                                  headers=headers, auth=auth, restart_codes=codes, fusion=fusion)
            except (errors.TransportError, errors.ServerError) as exc:
                last = exc
                if not failover:
                    raise
        assert last is not None
        raise last

    def stream(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
               timeouts: tuple[float, float] | None = None) -> requests.Response:
        """Send ``method url`` and return the answer unread (``stream=True``), whatever its
        status, without following redirects (the caller decides; see
        :func:`~kodo_jobs.kodo.download.download_to`). No answer raises the ``KodoError`` that
        names the cause. Close the response when done."""
        timeout = timeouts or self.timeouts.as_tuple()
        proxies = self.proxies_for(url)
        try:
            resp = self.session.request(method, url, headers=dict(headers or {}), stream=True,
                                        allow_redirects=False, timeout=timeout, proxies=proxies,
                                        verify=self.verify())
        except Exception as exc:
            raise self._no_answer(exc, method, url, proxies, timeout) from exc
        self._notify(resp)
        return resp

    def _no_answer(self, exc: Exception, method: str, url: str, proxies: Mapping[str, str],
                   timeout: tuple[float, float]) -> errors.KodoError | Exception:
        """The ``KodoError`` of a request that got no answer (other exceptions pass unchanged:
        a body iterator's own error, such as ``SourceChanged``, is not the network's)."""
        import requests

        if isinstance(exc, errors.KodoError) or not isinstance(exc, (requests.RequestException, OSError)):
            return exc
        if isinstance(exc, (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                            requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
            # refused before anything was sent (a CR/LF in a header, a malformed URL)
            return errors.BadRequest(f"cannot send this request: {exc}", method=method, url=redact_url(url))
        return transport_error(exc, method=method, url=url, safe_url=redact_url(url),
                               proxy=next(iter(proxies.values()), None), timeouts=timeout)

    def _notify(self, resp: requests.Response) -> None:
        if self._observers:
            elapsed = resp.elapsed.total_seconds()
            for observer in list(self._observers):
                observer(resp.headers, elapsed)

    def _once(
        self, method: str, url: str, *, params: Params | None, data: object, json_body: object,
        headers: Mapping[str, str] | None, auth: AuthBase | None, restart_codes: tuple[int, ...],
        fusion: bool = False,
    ) -> KodoResponse:
        """One API request: prepared by ``requests`` (URL requoting, body encoding, the signer)
        and sent by the session's adapter for that URL. ``Session.request`` would add, per
        request, a merge of session settings, a cookie jar pass and a redirect check; API calls
        need none of them (Kodo sets no cookies and its APIs do not redirect), and together they
        are a large share of a small upload's client CPU (figures: docs/bench.md). Response
        hooks still run."""
        import requests

        timeout = self.timeouts.as_tuple()
        proxies = self.proxies_for(url)
        session = self.session
        started = time.perf_counter()
        try:
            sent_headers = requests.structures.CaseInsensitiveDict(session.headers)
            if headers:
                sent_headers.update(headers)
            prepared = requests.PreparedRequest()
            prepared.prepare(method=method, url=url, headers=sent_headers, data=data, json=json_body,
                             params=params, auth=auth)
            adapter = session.get_adapter(prepared.url or url)
            resp = adapter.send(prepared, timeout=timeout, verify=self.verify(), proxies=proxies)
            content = resp.content
        except Exception as exc:
            mapped = self._no_answer(exc, method, url, proxies, timeout)
            if mapped is exc:
                raise
            raise mapped from exc
        resp.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        for hook in list(session.hooks.get("response") or ()):  # as requests' dispatch_hook does
            resp = hook(resp) or resp
        self._notify(resp)
        return _finish(method, resp.url or url, resp.status_code, content, resp.headers, restart_codes, fusion)


def _finish(method: str, url: str, status: int, content: bytes, headers: Mapping[str, str],
            restart_codes: tuple[int, ...], fusion: bool) -> KodoResponse:
    """The ``KodoResponse`` of a 2xx answer, else raise the ``KodoError`` it means."""
    if fusion:
        code, message = fusion_code(content)
        if code is not None and code != 200:
            raise fusion_error(code, message, status, headers, method=method, url=url)
    if 200 <= status < 300:
        return KodoResponse(status, content, headers, headers.get("X-Reqid", ""), method, redact_url(url))
    raise error_for_status(status, content, headers, method=method, url=url, restart_codes=restart_codes)
